// `@metering/contracts/testing`: valid example events for other packages' specs. A separate entry
// from the package's index, so production code does not reach them; lint refuses this entry (and
// any fixtures module) in non-test sources (eslint.config.mjs, "test code stays in tests").
export {
  exampleDockerSample,
  exampleLibvirtSample,
  steadySample,
  type SteadyResource,
} from './event.fixtures';
