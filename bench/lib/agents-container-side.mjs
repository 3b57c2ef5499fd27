// The container side of bench/agents-side-by-side.mjs: M idle containers (one burning a twentieth
// of a core); docker-collector and `docker stats --no-stream` every 10 s, each watched alone over
// the same window beside dockerd.
import { spawnSync } from 'node:child_process';
import { localInfra } from '@metering/testing';
import { agentRow, f, printTable } from './agents-report.mjs';
import { cgroupCpuNs, ourRate, rate } from './cpu-truth.mjs';
import { aboveIdle, every, pidOf, sleep, watch } from './process-watch.mjs';
import { stackRuntime } from './stack-runtime.mjs';

/** `run`: { id, windowS, settleS, intervalS } of the bench. */
export async function containerSide(run, pipeline, docker, m) {
  const { windowS, settleS, intervalS } = run;
  const ids = [];
  // Container 0 burns a twentieth of a core, so there is a rate to compare; the rest sleep.
  const specs = Array.from({ length: m }, (_, i) => ({
    name: `${run.id}-c-${m}-${i}`,
    Image: localInfra.busyboxImage,
    Cmd: i === 0 ? ['sh', '-c', 'while :; do :; done'] : ['sleep', '3600'],
    Labels: { 'metering.tenant': 'bench-tenant', 'metering.bench': run.id },
    HostConfig: {
      NetworkMode: 'none',
      NanoCpus: i === 0 ? 50_000_000 : 500_000_000,
      Memory: 33_554_432,
    },
  }));
  const started = performance.now();
  for (let i = 0; i < specs.length; i += 8) {
    await Promise.all(
      specs.slice(i, i + 8).map(async (spec) => {
        const c = await docker.createContainer(spec);
        await c.start();
        ids.push(c.id);
      }),
    );
  }
  console.log(
    `# ${m} containers started in ${f((performance.now() - started) / 1000, 0)} s; settling ${settleS} s`,
  );
  await sleep(settleS * 1000);
  const busy = await docker.getContainer(`${run.id}-c-${m}-0`).inspect();
  const busyId = busy.Id;
  const busyPid = busy.State.Pid;
  const dockerd = pidOf('dockerd');
  const idle = (await watch({ dockerd }, windowS)).dockerd;
  const daemonAbove = aboveIdle(idle);
  const rows = [];

  await pipeline.startDockerCollector({ ...stackRuntime('docker-collector'), LOG_LEVEL: 'warn' });
  await sleep(settleS * 1000);
  let t0 = cgroupCpuNs(busyPid);
  let w = await watch({ agent: pipeline.pid('docker-collector'), dockerd }, windowS);
  let t1 = cgroupCpuNs(busyPid);
  await pipeline.stopService('docker-collector');
  const oursReported = await ourRate(
    pipeline.topic,
    run.id,
    (s) => s.resource?.id === busyId,
    t0.atMs,
    t1.atMs,
  );
  rows.push(
    agentRow(
      `docker-collector (${oursReported.samples} samples of the busy one)`,
      w,
      daemonAbove(w.dockerd),
      oursReported.rate,
      rate(t0, t1),
    ),
  );

  // `docker stats --no-stream` over the same containers every 10 s; `times` gives the client's CPU.
  let clientCpuS = 0;
  let runs = 0;
  const percents = [];
  t0 = cgroupCpuNs(busyPid);
  w = await watch({ dockerd }, windowS, (end) =>
    every(end, intervalS, () => {
      const out = spawnSync(
        'bash',
        [
          '-c',
          'docker stats --no-stream --format "{{.ID}} {{.CPUPerc}}" "$@"; times',
          'stats',
          ...ids,
        ],
        { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
      );
      const lines = out.stdout.trim().split('\n');
      const times = lines
        .at(-1)
        .split(/\s+/)
        .map((t) => {
          const mm = /^(\d+)m([\d.]+)s$/.exec(t);
          return mm === null ? 0 : Number(mm[1]) * 60 + Number(mm[2]);
        });
      clientCpuS += times[0] + times[1]; // this shell's children (the docker client): user + sys
      const busyLine = lines.find((l) => busyId.startsWith(l.split(' ')[0]));
      if (busyLine !== undefined)
        percents.push(Number(busyLine.split(' ')[1].replace('%', '')) / 100);
      runs += 1;
    }),
  );
  t1 = cgroupCpuNs(busyPid);
  rows.push({
    name: `docker stats --no-stream (${runs} runs)`,
    agentCpuS: clientCpuS,
    daemonCpuS: daemonAbove(w.dockerd),
    switchesPerS: Number.NaN,
    peakRssMb: Number.NaN,
    reported:
      percents.length === 0 ? Number.NaN : percents.reduce((a, b) => a + b, 0) / percents.length,
    truth: rate(t0, t1),
  });
  printTable(
    `${m} idle containers (one at 0.05 core), ${windowS} s each (dockerd idle: ${f(idle.cpuS)} CPU-s in its window)`,
    rows,
    'cgroup usage rate of the busy one',
  );
  await removeContainers(docker, run.id);
  return rows;
}

/** Every container the run `runId` started (label metering.bench), removed 16 at a time. */
export async function removeContainers(docker, runId) {
  const listed = await docker.listContainers({
    all: true,
    filters: { label: [`metering.bench=${runId}`] },
  });
  for (let i = 0; i < listed.length; i += 16) {
    await Promise.all(
      listed.slice(i, i + 16).map((c) =>
        docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => undefined),
      ),
    );
  }
}
