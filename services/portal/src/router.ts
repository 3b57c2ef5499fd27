import { useEffect, useState } from 'preact/hooks';

/** The portal's pages, addressed by the URL fragment (`#/usage`): no server routes needed. */
export type Route =
  | { readonly page: 'overview' }
  | { readonly page: 'usage' }
  | { readonly page: 'invoices' }
  | { readonly page: 'invoice'; readonly period: string }
  | { readonly page: 'keys' }
  | { readonly page: 'not-found'; readonly path: string };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '') || '/';
  if (path === '/' || path === '/overview') return { page: 'overview' };
  if (path === '/usage') return { page: 'usage' };
  if (path === '/invoices') return { page: 'invoices' };
  if (path === '/api-keys') return { page: 'keys' };
  const invoice = /^\/invoices\/(\d{4}-\d{2})$/.exec(path);
  if (invoice?.[1] !== undefined) return { page: 'invoice', period: invoice[1] };
  return { page: 'not-found', path };
}

export function href(route: Route): string {
  switch (route.page) {
    case 'overview':
      return '#/overview';
    case 'usage':
      return '#/usage';
    case 'invoices':
      return '#/invoices';
    case 'invoice':
      return `#/invoices/${route.period}`;
    case 'keys':
      return '#/api-keys';
    case 'not-found':
      return `#${route.path}`;
  }
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const update = (): void => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}
