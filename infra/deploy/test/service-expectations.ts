import { type DockerfileExpectations } from '../src/dockerfile-checks';
import { serviceFacts, serviceNames, type ServiceFacts } from '../src/workspaces';

/**
 * What each service needs from its image and its deployment beyond what its package.json and
 * config.ts say: the collectors read host state as root (documented in their Dockerfiles);
 * vm-collector's libvirt addon needs libvirt at build and run time; billing-api ships the portal.
 */
const SPECIAL: Readonly<Record<string, Partial<DockerfileExpectations>>> = {
  // The tenant portal's web app (services/portal), served under /portal/ (ADR 0012).
  'billing-api': { webApps: ['portal'] },
  'docker-collector': { mayRunAsRoot: true },
  'vm-collector': {
    mayRunAsRoot: true,
    runtimePackages: ['libvirt0'],
    buildPackages: ['libvirt-dev', 'pkg-config', 'python3', 'make', 'g++'],
  },
};

export function allServiceFacts(): Map<string, ServiceFacts> {
  return new Map(serviceNames().map((name) => [name, serviceFacts(name)]));
}

export function dockerfileExpectations(facts: ServiceFacts): DockerfileExpectations {
  return {
    name: facts.name,
    packageName: facts.packageName,
    port: facts.port,
    main: facts.main,
    runtimeWorkspaces: facts.runtimeWorkspaces,
    mayRunAsRoot: false,
    runtimePackages: [],
    buildPackages: [],
    ...SPECIAL[facts.name],
  };
}
