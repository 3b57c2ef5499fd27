/**
 * How documents name a resource: its name beside a shortened id, `web-1 (3f9a2b1c4d5e)`, or the
 * whole id when no name is known (a resource rated before names were recorded, or nameless).
 * Short ids follow the tools operators use: Docker's 12 hex digits of a container id, the first
 * group of a VM's UUID (virsh list --uuid shows them whole; 8 digits tell a host's domains apart);
 * other ids over 16 characters are cut to 12 with an ellipsis.
 */
export function shortResourceId(id: string): string {
  if (/^[0-9a-f]{64}$/i.test(id)) return id.slice(0, 12);
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id))
    return id.slice(0, 8);
  return [...id].length > 16 ? `${[...id].slice(0, 12).join('')}…` : id;
}

export function resourceLabel(r: { resourceId: string; resourceName?: string | null }): string {
  const name = r.resourceName ?? '';
  return name === '' ? r.resourceId : `${name} (${shortResourceId(r.resourceId)})`;
}

/**
 * The label cut to what `fits` (a column's width, measured by the caller): the name loses its
 * end (an ellipsis shows it), never the short id, which tells two similar names apart. A label
 * that fits is the whole label; a nameless id too long for the column is cut at its end.
 */
export function fittedResourceLabel(
  r: { resourceId: string; resourceName?: string | null },
  fits: (text: string) => boolean,
): string {
  const whole = resourceLabel(r);
  const name = [...(r.resourceName ?? '')];
  if (fits(whole) || name.length === 0) return whole;
  const id = ` (${shortResourceId(r.resourceId)})`;
  // The longest prefix of the name that fits with the ellipsis and the id (binary search).
  let lo = 0;
  let hi = name.length - 1;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(`${name.slice(0, mid).join('')}…${id}`)) lo = mid;
    else hi = mid - 1;
  }
  return `${name.slice(0, lo).join('')}…${id}`;
}
