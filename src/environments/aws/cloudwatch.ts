/**
 * The CloudWatch part of the AWS capability, built on an SDK client: GetMetricData with every
 * page joined. The AWS environment offers it as `capability(AWS).cloudwatch` (it holds the
 * client, created for its region and credentials, and checks its guardrails before each call);
 * tests pass a client aws-sdk-client-mock intercepts.
 */
import { GetMetricDataCommand, type CloudWatchClient, type MetricDataQuery } from '@aws-sdk/client-cloudwatch'
import type { AwsCloudWatch, MetricQuery, MetricValues } from '../../api/aws.ts'

function toSdk(q: MetricQuery): MetricDataQuery {
  if (q.expression !== undefined)
    return { Id: q.id, Expression: q.expression, Period: q.periodSeconds, ReturnData: q.returnData, ...(q.label ? { Label: q.label } : {}) }
  const m = q.metric!
  return {
    Id: q.id,
    MetricStat: {
      Metric: { Namespace: m.namespace, MetricName: m.name, Dimensions: Object.entries(m.dimensions).map(([Name, Value]) => ({ Name, Value })) },
      Period: q.periodSeconds,
      Stat: m.stat,
      ...(m.unit ? { Unit: m.unit as never } : {}),
    },
    ReturnData: q.returnData,
    ...(q.label ? { Label: q.label } : {}),
  }
}

export function cloudWatchMetrics(client: CloudWatchClient, guard: () => Promise<void> = async () => {}): AwsCloudWatch {
  return {
    async getMetricData(queries, from, to, signal) {
      await guard()
      const byId = new Map<string, MetricValues>()
      let NextToken: string | undefined
      do {
        const page = await client.send(
          new GetMetricDataCommand({
            MetricDataQueries: queries.map(toSdk),
            StartTime: from,
            EndTime: to,
            ScanBy: 'TimestampAscending',
            ...(NextToken ? { NextToken } : {}),
          }),
          { abortSignal: signal },
        )
        for (const r of page.MetricDataResults ?? []) {
          const id = r.Id ?? '?'
          const into = byId.get(id) ?? { id, ...(r.Label ? { label: r.Label } : {}), timestamps: [], values: [], messages: [] }
          into.timestamps.push(...(r.Timestamps ?? []))
          into.values.push(...(r.Values ?? []))
          // the last page's status is the query's: PartialData there means more was cut
          if (r.StatusCode) into.status = r.StatusCode
          into.messages!.push(...(r.Messages ?? []).map((m) => `${m.Code}: ${m.Value}`))
          byId.set(id, into)
        }
        NextToken = page.NextToken
      } while (NextToken)
      return [...byId.values()]
    },
  }
}
