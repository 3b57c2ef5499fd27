export * from './cgroup.errors';
export * from './cgroup-mounts';
export * from './cgroup-stats';
export * from './cgroup.reader';
export * from './cpu-set';
export * from './cgroup-path';
export * from './held-file.reader';
export * from './cgroup-values';
