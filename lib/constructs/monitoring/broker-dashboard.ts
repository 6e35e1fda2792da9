import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import type { AlarmScopes } from './alarm-catalog';
import { ContributorInsightsWidget } from './contributor-insights-widget';
import type { LambdaMetrics } from './metric-factory';
import { RUNBOOK_DIRECTORY } from './runbooks';

export interface BrokerDashboardProps {
  readonly dashboardName: string;
  /** The alarms by catalogue id: the status widget shows them, graphs draw their thresholds. */
  readonly alarms: Readonly<Record<string, cloudwatch.AlarmBase>>;
  readonly broker: AlarmScopes['broker'];
  readonly functions: Readonly<Record<string, LambdaMetrics>>;
  readonly api?: AlarmScopes['api'] & {
    readonly callersRuleName: string;
    readonly forbiddenRuleName: string;
  };
  readonly refreshWorkflow?: AlarmScopes['refreshWorkflow'];
  /** Proxy mode, when its function exists. */
  readonly proxy?: AlarmScopes['proxy'] & {
    readonly consumersRuleName: string;
    readonly shareRefusedRuleName: string;
    /** The rate alarms' minimum calls (monitoring.thresholds.upstreamApiMinCallsPer15Minutes). */
    readonly upstreamApiMinCalls: number;
  };
}

const HALF = 12;
const THIRD = 8;
const QUARTER = 6;
const HEIGHT = 6;

/**
 * The one dashboard on-call opens: alarm status first, then token requests and outcomes, mints and
 * failures, token expiry and budgets, top callers, API latency and errors, proxy mode (calls and
 * quota, refusals, ThroughLine's errors and latency, the response cache, top consumers), function health.
 */
export class BrokerDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: BrokerDashboardProps) {
    super(scope, id);
    const { broker, api, refreshWorkflow, proxy } = props;
    const graph = (
      title: string,
      left: cloudwatch.IMetric[],
      extra: Partial<cloudwatch.GraphWidgetProps> = {},
    ) => new cloudwatch.GraphWidget({ title, left, width: THIRD, height: HEIGHT, ...extra });
    // A graph's threshold line is the alarm's own (Alarm.toAnnotation: its threshold and condition), so
    // the two cannot drift apart; a graph whose alarm is not in this stack draws none.
    const thresholdOf = (
      id: string,
      color: string = cloudwatch.Color.RED,
    ): cloudwatch.HorizontalAnnotation[] => {
      const alarm = props.alarms[id];
      return alarm instanceof cloudwatch.Alarm ? [{ ...alarm.toAnnotation(), color }] : [];
    };
    const alarmList = Object.values(props.alarms);

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
    });
    // Stack tags reach the dashboard through aws-cdk-lib's newer resource spec, but cfn-lint's
    // CloudFormation schema has no Tags on AWS::CloudWatch::Dashboard yet; a dashboard needs none.
    (this.dashboard.node.defaultChild as cloudwatch.CfnDashboard).addPropertyDeletionOverride('Tags');

    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# ThroughLine token broker — ${props.dashboardName}\nEvery alarm links its runbook (\`${RUNBOOK_DIRECTORY}/\`). [PAGE] alarms wake on-call; [TICKET] alarms wait for working hours.`,
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarm status',
        alarms: alarmList,
        width: 24,
        height: Math.max(3, Math.ceil(alarmList.length / 4) + 1),
        sortBy: cloudwatch.AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP,
      }),
    );

    this.dashboard.addWidgets(
      graph(
        'Token requests and outcomes',
        api
          ? [api.api.requests(), api.api.clientErrors(), api.api.serverErrors(), api.forbidden.total()]
          : [broker.broker.mintsSkippedFresh(), broker.broker.tokensMinted()],
      ),
      graph('Mints and failures', [
        broker.broker.tokensMinted(),
        broker.broker.mintsSkippedFresh(),
        broker.broker.mintFailures(),
        broker.broker.credentialsRejected(),
      ]),
      graph('Mint failures by reason', [broker.broker.mintFailuresByReason()]),
    );

    this.dashboard.addWidgets(
      graph(
        'Cached token: seconds to expiry',
        [broker.broker.cachedTokenSecondsToExpiry(refreshWorkflow?.refreshWindow)],
        {
          leftAnnotations: thresholdOf('TokenNearExpiry'),
          leftYAxis: { min: 0 },
          width: QUARTER,
        },
      ),
      graph(
        'Token requests to ThroughLine per hour',
        [broker.broker.upstreamTokenRequests(Duration.hours(1))],
        {
          leftAnnotations: thresholdOf('UpstreamHourlyBurn', cloudwatch.Color.ORANGE),
          leftYAxis: { min: 0 },
          width: QUARTER,
        },
      ),
      graph('Credential age (days)', [broker.broker.credentialAgeDays()], {
        leftAnnotations: thresholdOf('CredentialAge'),
        leftYAxis: { min: 0 },
        width: QUARTER,
      }),
      graph('ThroughLine token endpoint', [broker.broker.upstreamLatencyP99()], {
        right: [broker.broker.tokenLifetime()],
        leftYAxis: { min: 0, label: 'ms' },
        rightYAxis: { min: 0, label: 's' },
        width: QUARTER,
      }),
    );

    if (api) {
      this.dashboard.addWidgets(
        new ContributorInsightsWidget({
          title: 'Top callers (requests)',
          ruleName: api.callersRuleName,
          width: THIRD,
        }),
        new ContributorInsightsWidget({
          title: 'Refused (403) by caller and source IP',
          ruleName: api.forbiddenRuleName,
          width: THIRD,
        }),
        graph('Token API latency (ms)', [api.api.latencyP50(), api.api.latencyP99()], {
          leftAnnotations: thresholdOf('ApiLatencyP99'),
          leftYAxis: { min: 0 },
        }),
      );
    }

    if (proxy) {
      const p = proxy.proxy;
      this.dashboard.addWidgets(
        new cloudwatch.TextWidget({
          markdown:
            "## Proxy mode\nCalls to ThroughLine's API through the broker (`/throughline/…`): the quota they spend, who spends it, and what the broker refused.",
          width: 24,
          height: 2,
        }),
      );
      this.dashboard.addWidgets(
        graph('ThroughLine API calls and daily quota used', [p.upstreamApiCalls(), p.proxyRequests()], {
          right: [p.quotaUsedPercent()],
          leftYAxis: { min: 0, label: 'calls' },
          rightYAxis: { min: 0, max: 100, label: '%' },
        }),
        graph(
          'Proxy refusals by kind',
          [p.quotaShareExhausted(), p.quotaReserveReached(), p.proxyRateLimited(), p.proxyRequestRefused()],
          { leftYAxis: { min: 0 } },
        ),
        graph(
          'ThroughLine API failures and 429s (% of calls)',
          [
            p.upstreamApiFailurePercent(proxy.upstreamApiMinCalls),
            p.upstreamApiThrottledPercent(proxy.upstreamApiMinCalls),
          ],
          {
            right: [p.upstreamApiTokenRejected()],
            leftAnnotations: [
              ...thresholdOf('ThroughLineApiFailures'),
              ...thresholdOf('ThroughLineApiThrottled', cloudwatch.Color.ORANGE),
            ],
            leftYAxis: { min: 0, max: 100, label: '%' },
            rightYAxis: { min: 0, label: '401s' },
          },
        ),
      );
      this.dashboard.addWidgets(
        new ContributorInsightsWidget({
          title: 'Top consumers of ThroughLine calls',
          ruleName: proxy.consumersRuleName,
          width: QUARTER,
        }),
        new ContributorInsightsWidget({
          title: 'Refused for their daily share, by caller',
          ruleName: proxy.shareRefusedRuleName,
          width: QUARTER,
        }),
        graph('ThroughLine API latency (ms)', [p.upstreamApiLatencyP50(), p.upstreamApiLatencyP99()], {
          leftYAxis: { min: 0 },
          width: QUARTER,
        }),
        graph('Response cache', [p.cacheHits(), p.cacheStaleServed(), p.cacheStoreSkipped()], {
          leftYAxis: { min: 0 },
          width: QUARTER,
        }),
      );
    }

    const fns = Object.values(props.functions);
    this.dashboard.addWidgets(
      graph(
        'Function errors and throttles',
        fns.flatMap((f) => [f.errors(), f.throttles()]),
        { width: refreshWorkflow ? THIRD : HALF },
      ),
      ...(refreshWorkflow
        ? [
            graph('Refresh workflow runs', [
              refreshWorkflow.refresh.succeeded(),
              refreshWorkflow.refresh.unsuccessful(),
            ]),
          ]
        : []),
      graph('Undelivered on-call notifications', [broker.deliveryFailures.undelivered()], {
        width: refreshWorkflow ? THIRD : HALF,
      }),
    );
  }
}
