/**
 * Reads CloudWatch embedded metric format (EMF) records — the JSON log lines Powertools Metrics
 * writes, which CloudWatch turns into metrics ("Specification: Embedded metric format", CloudWatch
 * User Guide): `_aws.CloudWatchMetrics[]` declares the namespace, the dimension sets and the metric
 * names; the record's own fields hold the dimension values and the metric values (a number, or an
 * array when one metric was added several times before a flush).
 */

type Record_ = Readonly<Record<string, unknown>>;

interface Directive {
  readonly Namespace: string;
  readonly Dimensions: readonly (readonly string[])[];
  readonly Metrics: readonly { readonly Name: string }[];
}

const directivesOf = (record: Record_): readonly Directive[] =>
  (record._aws as { CloudWatchMetrics?: Directive[] } | undefined)?.CloudWatchMetrics ?? [];

export interface EmfDatapoint {
  readonly namespace: string;
  readonly name: string;
  /** Dimension name → value: one datapoint per dimension set a record declares. */
  readonly dimensions: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Every datapoint CloudWatch would make of the records: per dimension set, per value. */
export function emfDatapoints(records: readonly Record_[]): EmfDatapoint[] {
  return records.flatMap((record) =>
    directivesOf(record).flatMap((directive) =>
      directive.Dimensions.flatMap((set) =>
        directive.Metrics.flatMap((metric) =>
          [record[metric.Name]].flat().map((value) => ({
            namespace: directive.Namespace,
            name: metric.Name,
            dimensions: Object.fromEntries(set.map((d) => [d, String(record[d])])),
            value: Number(value),
          })),
        ),
      ),
    ),
  );
}

/** The metric names the records declare, once per declaration. */
export function emfMetricNames(records: readonly Record_[]): string[] {
  return records.flatMap((record) => directivesOf(record).flatMap((d) => d.Metrics.map((m) => m.Name)));
}
