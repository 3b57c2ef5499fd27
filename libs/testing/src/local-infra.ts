/**
 * Where the local infrastructure started by `infra/local/stack.sh` listens. Tests read these,
 * never hard-coded addresses, so a developer can point them elsewhere on loopback.
 */
export const localInfra = {
  kafkaBrokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
  postgresUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/metering',
  influxUrl: process.env.INFLUX_URL ?? 'http://127.0.0.1:8086',
  dockerSocket: process.env.DOCKER_SOCKET ?? '/var/run/docker.sock',
  libvirtUri: process.env.LIBVIRT_URI ?? 'qemu:///system',
  /** The image imported by infra/local/docker.sh from busybox-static, without a registry. */
  busyboxImage: process.env.BUSYBOX_IMAGE ?? 'local/busybox:1',
} as const;
