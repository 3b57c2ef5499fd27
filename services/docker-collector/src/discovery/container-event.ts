/** The container lifecycle events the collector acts on. */
export type ContainerAction = 'start' | 'die' | 'kill' | 'destroy' | 'update';

export interface ContainerEvent {
  readonly action: ContainerAction;
  readonly containerId: string;
  /** When the engine emitted it, epoch milliseconds (from timeNano when present). */
  readonly at: number;
  /** The engine's own timestamp, seconds with a fraction: where to resume after a reconnect. */
  readonly since: number;
}

const ACTIONS: ReadonlySet<string> = new Set<ContainerAction>([
  'start',
  'die',
  'kill',
  'destroy',
  'update',
]);

/** The actions to ask the engine for (its `event` filter). */
export const CONTAINER_ACTIONS: readonly ContainerAction[] = [...ACTIONS] as ContainerAction[];

/**
 * One decoded message of Docker's event stream, or null for anything else (other types,
 * other actions, malformed). `Action` can carry a suffix ("exec_start: sh"); only the word
 * before the colon counts.
 */
export function containerEventOf(raw: unknown): ContainerEvent | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const event = raw as Record<string, unknown>;
  const type = event.Type ?? event.type;
  const rawAction = event.Action ?? event.status;
  const action = typeof rawAction === 'string' ? (rawAction.split(':')[0] ?? '') : '';
  const actor = event.Actor as { ID?: unknown } | undefined;
  const id = actor?.ID ?? event.id;
  if (type !== 'container' || !ACTIONS.has(action) || typeof id !== 'string' || id === '') {
    return null;
  }
  const timeNano = event.timeNano;
  const time = event.time;
  let at: number;
  let since: number;
  if (typeof timeNano === 'number' || typeof timeNano === 'string') {
    // JSON numbers beyond 2^53 arrive rounded to ~256 ns: plenty for milliseconds.
    const ns = Number(timeNano);
    if (!Number.isFinite(ns)) return null;
    at = Math.floor(ns / 1e6);
    since = ns / 1e9;
  } else if (typeof time === 'number') {
    at = time * 1000;
    since = time;
  } else {
    return null;
  }
  return { action: action as ContainerAction, containerId: id, at, since };
}
