// Prometheus remote write's protobuf messages (prompb: remote.proto's
// WriteRequest and types.proto's TimeSeries, Label, Sample; the 1.0 protocol),
// declared with protobufjs rather than loaded from a .proto file so the
// compiled output needs no file beside it. Only the fields we send.
import * as protobuf from 'protobufjs';

export interface RwSeries {
  /** Sorted by name, __name__ first (Prometheus requires sorted label names). */
  labels: { name: string; value: string }[];
  samples: { value: number; timestamp: number }[];
}

const root = new protobuf.Root();
root.add(new protobuf.Type('Label').add(new protobuf.Field('name', 1, 'string')).add(new protobuf.Field('value', 2, 'string')));
root.add(new protobuf.Type('Sample').add(new protobuf.Field('value', 1, 'double')).add(new protobuf.Field('timestamp', 2, 'int64')));
root.add(new protobuf.Type('TimeSeries')
  .add(new protobuf.Field('labels', 1, 'Label', 'repeated'))
  .add(new protobuf.Field('samples', 2, 'Sample', 'repeated')));
root.add(new protobuf.Type('WriteRequest').add(new protobuf.Field('timeseries', 1, 'TimeSeries', 'repeated')));
const WriteRequest = root.lookupType('WriteRequest');

export function encodeWriteRequest(series: readonly RwSeries[]): Uint8Array {
  return WriteRequest.encode(WriteRequest.fromObject({ timeseries: series })).finish();
}

export function decodeWriteRequest(bytes: Uint8Array): RwSeries[] {
  const o = WriteRequest.toObject(WriteRequest.decode(bytes), { longs: Number, defaults: true }) as { timeseries: RwSeries[] };
  return o.timeseries;
}
