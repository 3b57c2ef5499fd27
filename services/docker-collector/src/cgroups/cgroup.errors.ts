/** The cgroup disappeared while it was being read: the container exited. Expected, counted, not fatal. */
export class CgroupVanishedError extends Error {
  readonly code = 'CGROUP_VANISHED';
  constructor(readonly path: string) {
    super(`cgroup vanished while reading ${path}`);
    this.name = 'CgroupVanishedError';
  }
}

/** A cgroup file exists but could not be read or parsed. */
export class CgroupReadError extends Error {
  readonly code = 'CGROUP_READ_FAILED';
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`cannot read ${path}: ${reason}`);
    this.name = 'CgroupReadError';
  }
}
