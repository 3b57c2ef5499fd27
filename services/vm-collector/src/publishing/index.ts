export { SAMPLE_PUBLISHER, type SamplePublisher } from './sample.publisher';
export { SpooledSamplePublisher, startSamplePublisher } from './spooled-sample.publisher';
