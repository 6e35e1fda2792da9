import { Duration } from 'aws-cdk-lib';
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { MonitoringConfig } from '../../config/schema';
import type { BrokerFunction } from '../broker-function';
import type { CredentialStore } from '../credential-store';
import type { OnCallTopic } from '../on-call-topic';
import {
  ALARM_CATALOG,
  type AlarmScope,
  type AlarmScopes,
  type AlarmSpec,
  alarmDescription,
  alarmName,
  describeCondition,
} from './alarm-catalog';
import { BrokerDashboard } from './broker-dashboard';
import { CallerInsightRules } from './caller-insight-rules';
import {
  apiMetrics,
  brokerMetrics,
  deliveryFailureMetrics,
  insightRuleMetrics,
  type LambdaMetrics,
  lambdaMetrics,
  proxyMetrics,
  refreshWorkflowMetrics,
} from './metric-factory';
import { ProxyInsightRules } from './proxy-insight-rules';
import { runbookLink } from './runbooks';
import { SecretAuditRules } from './secret-audit-rules';

/** The token API, when it exists: its stage metrics and its JSON access log (lib/constructs/access-log-format.ts). */
export interface MonitoredApi {
  readonly restApi: apigateway.IRestApi;
  readonly stageName: string;
  readonly accessLogGroup: logs.ILogGroup;
}

/** The scheduled refresh workflow, when it exists. */
export interface MonitoredRefreshWorkflow {
  readonly stateMachine: sfn.IStateMachine;
  /** How often the schedule starts a run: the staleness alarm expects a report at least this often. */
  readonly scheduleInterval: Duration;
}

export interface BrokerMonitoringProps {
  readonly config: MonitoringConfig;
  /** The stack name: the Powertools `service` dimension of the broker's metrics and the prefix of every name. */
  readonly serviceName: string;
  readonly onCall: OnCallTopic;
  readonly credentialStore: CredentialStore;
  /**
   * Broker functions by role name (e.g. `{ MintToken: ..., ServeToken: ... }`): errors and throttles
   * alarms each. The one under PROXY_FUNCTION_ROLE (`ProxyThroughLine`, proxy mode) also brings proxy
   * mode's alarms, Contributor Insights rules on its audit lines and dashboard widgets; without it
   * (`proxy.enabled` false) none of them exist.
   */
  readonly functions: Readonly<Record<string, BrokerFunction>>;
  /** @default no API alarms, Contributor Insights rules or API widgets */
  readonly api?: MonitoredApi;
  /** @default no refresh-workflow or token-staleness alarms */
  readonly refreshWorkflow?: MonitoredRefreshWorkflow;
}

const FUNCTION_ROLE_NAME = /^[A-Z][A-Za-z0-9]{0,39}$/;

/** The role name of proxy mode's function (proxy-throughline) in `functions`. */
export const PROXY_FUNCTION_ROLE = 'ProxyThroughLine';

/**
 * Everything on-call needs for one broker: the alarms of the catalogue (alarm and OK actions to the
 * on-call topic), Contributor Insights rules on the API's callers and on proxy mode's audit lines,
 * EventBridge rules on the credentials secret, and one dashboard. Parts whose resources are not
 * passed are left out.
 */
export class BrokerMonitoring extends Construct {
  /** Alarms by id (catalogue id, suffixed with the function role for per-function alarms). */
  readonly alarms: Readonly<Record<string, cloudwatch.AlarmBase>>;
  readonly dashboard: cloudwatch.Dashboard;
  readonly callerInsights?: CallerInsightRules;
  /** Only with proxy mode's function. */
  readonly proxyInsights?: ProxyInsightRules;
  readonly secretAudit: SecretAuditRules;

  constructor(scope: Construct, id: string, props: BrokerMonitoringProps) {
    super(scope, id);
    const { config, serviceName, onCall } = props;
    for (const name of Object.keys(props.functions)) {
      if (!FUNCTION_ROLE_NAME.test(name)) {
        throw new Error(
          `BrokerMonitoring: function role name "${name}" must be PascalCase letters and digits (e.g. MintToken): it becomes part of alarm names`,
        );
      }
    }

    const broker = brokerMetrics(serviceName);
    const scopes: { -readonly [S in keyof AlarmScopes]?: AlarmScopes[S] } & Pick<AlarmScopes, 'broker'> = {
      broker: { broker, deliveryFailures: deliveryFailureMetrics(onCall.deliveryFailures.queueName) },
    };

    if (props.api) {
      this.callerInsights = new CallerInsightRules(this, 'CallerInsights', {
        serviceName,
        accessLogGroup: props.api.accessLogGroup,
      });
      scopes.api = {
        api: apiMetrics({ apiName: props.api.restApi.restApiName, stageName: props.api.stageName }),
        callers: insightRuleMetrics(this.callerInsights.callers.attrRuleName),
        forbidden: insightRuleMetrics(this.callerInsights.forbidden.attrRuleName),
        refusedPrincipals: insightRuleMetrics(this.callerInsights.refusedPrincipals.attrRuleName),
      };
    }
    if (props.refreshWorkflow) {
      scopes.refreshWorkflow = {
        refresh: refreshWorkflowMetrics(props.refreshWorkflow.stateMachine.stateMachineArn),
        broker,
        refreshWindow: refreshWindow(props.refreshWorkflow.scheduleInterval),
      };
    }
    const proxyFunction = props.functions[PROXY_FUNCTION_ROLE];
    if (proxyFunction) {
      this.proxyInsights = new ProxyInsightRules(this, 'ProxyInsights', {
        serviceName,
        logGroup: proxyFunction.logGroup,
      });
      scopes.proxy = { proxy: proxyMetrics(serviceName) };
    }
    const functionMetrics: Record<string, LambdaMetrics> = Object.fromEntries(
      Object.entries(props.functions).map(([name, fn]) => [
        name,
        lambdaMetrics(fn.function.functionName, name),
      ]),
    );

    const alarms: Record<string, cloudwatch.AlarmBase> = {};
    const quiet: AlarmSpec[] = [];
    const add = (spec: AlarmSpec, alarmId: string, sources: AlarmScopes[AlarmScope]) => {
      alarms[alarmId] = this.createAlarm(spec, alarmId, sources, props, spec.quietUntilConfigured === true);
      if (spec.quietUntilConfigured) quiet.push(spec);
    };
    for (const spec of ALARM_CATALOG) {
      if (spec.scope === 'function') {
        for (const [name, fn] of Object.entries(functionMetrics)) add(spec, `${spec.id}-${name}`, { fn });
      } else {
        const sources = scopes[spec.scope];
        if (sources) add(spec, spec.id, sources);
      }
    }
    for (const spec of quiet) {
      const suppressor = alarms[NOT_CONFIGURED_ALARM_ID];
      const window = scopes.refreshWorkflow?.refreshWindow;
      if (!suppressor || !window) {
        throw new Error(
          `BrokerMonitoring: alarm ${spec.id} is quiet until configured, which needs the ${NOT_CONFIGURED_ALARM_ID} alarm (refreshWorkflow scope)`,
        );
      }
      alarms[spec.id] = this.quietUntilConfigured(
        spec,
        alarms[spec.id] as cloudwatch.Alarm,
        suppressor,
        window,
        props,
      );
    }
    this.alarms = alarms;

    this.secretAudit = new SecretAuditRules(this, 'SecretAudit', {
      serviceName,
      secretName: props.credentialStore.secret.secretName,
      readerRoleArns: () => props.credentialStore.allowedReaderRoleArns,
      readers: () => props.credentialStore.readers,
      topicFor: (severity) => onCall.topicFor(severity),
      deadLetterQueue: onCall.deliveryFailures,
      ...(config.runbookBaseUrl ? { runbookBaseUrl: config.runbookBaseUrl } : {}),
    });

    this.dashboard = new BrokerDashboard(this, 'Dashboard', {
      dashboardName: serviceName,
      alarms,
      broker: scopes.broker,
      functions: functionMetrics,
      ...(scopes.api && this.callerInsights
        ? {
            api: {
              ...scopes.api,
              callersRuleName: this.callerInsights.callers.attrRuleName,
              forbiddenRuleName: this.callerInsights.forbidden.attrRuleName,
            },
          }
        : {}),
      ...(scopes.refreshWorkflow ? { refreshWorkflow: scopes.refreshWorkflow } : {}),
      ...(scopes.proxy && this.proxyInsights
        ? {
            proxy: {
              ...scopes.proxy,
              consumersRuleName: this.proxyInsights.consumers.attrRuleName,
              shareRefusedRuleName: this.proxyInsights.shareRefused.attrRuleName,
              upstreamApiMinCalls: config.thresholds.upstreamApiMinCallsPer15Minutes,
            },
          }
        : {}),
    }).dashboard;
  }

  /**
   * The alarm's signal pages through a composite alarm that the NotConfigured alarm suppresses
   * (CloudWatch composite-alarm action suppression: while the suppressor is in ALARM the composite
   * performs no actions; entering ALARM, it first waits up to ActionsSuppressorWaitPeriod for the
   * suppressor to go into ALARM, and after the suppressor leaves ALARM it waits up to
   * ActionsSuppressorExtensionPeriod — PutCompositeAlarm, CloudWatch API Reference:
   * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html).
   * The wait covers a fresh deploy, where this alarm breaches from the start and NotConfigured needs
   * one scheduled run and one evaluation to say why: a refresh window plus five minutes. The cost is
   * that a real silence pages that much later; TokenNearExpiry, which is not suppressed, pages at once
   * when a reported token runs low.
   */
  private quietUntilConfigured(
    spec: AlarmSpec,
    signal: cloudwatch.Alarm,
    suppressor: cloudwatch.IAlarm,
    window: Duration,
    props: BrokerMonitoringProps,
  ): cloudwatch.CompositeAlarm {
    const signalAlarm = signal.node.defaultChild as cloudwatch.CfnAlarm;
    const composite = new cloudwatch.CompositeAlarm(this, `${spec.id}Paging`, {
      compositeAlarmName: alarmName(spec.severity, props.serviceName, spec.id),
      alarmDescription: `${signalAlarm.alarmDescription} Suppressed while ${alarmName('ticket', props.serviceName, NOT_CONFIGURED_ALARM_ID)} is in ALARM (no credentials put in yet).`,
      alarmRule: cloudwatch.AlarmRule.fromAlarm(signal, cloudwatch.AlarmState.ALARM),
      actionsSuppressor: suppressor,
      actionsSuppressorWaitPeriod: window.plus(Duration.minutes(5)),
      actionsSuppressorExtensionPeriod: window,
      actionsEnabled: true,
    });
    const action = new actions.SnsAction(props.onCall.topicFor(spec.severity));
    composite.addAlarmAction(action);
    composite.addOkAction(action);
    return composite;
  }

  private createAlarm(
    spec: AlarmSpec,
    alarmId: string,
    sources: AlarmScopes[AlarmScope],
    props: BrokerMonitoringProps,
    /** Feeds a composite alarm only: no actions of its own (they would page regardless of the suppressor). */
    signalOnly = false,
  ): cloudwatch.Alarm {
    const { config, serviceName } = props;
    // The scope was matched by the caller; the catalogue's union cannot say so to the compiler.
    const metric = (spec.metric as (s: typeof sources, c: MonitoringConfig) => cloudwatch.IMetric)(
      sources,
      config,
    );
    const label = (metric as { label?: string }).label ?? alarmId;
    const common = {
      alarmName: `${alarmName(spec.severity, serviceName, alarmId)}${signalOnly ? ' (signal)' : ''}`,
      alarmDescription: alarmDescription(
        spec,
        describeCondition(spec, config, label, periodOf(metric)),
        runbookLink(spec.runbook, config.runbookBaseUrl),
      ),
      evaluationPeriods: spec.evaluationPeriods,
      datapointsToAlarm: spec.datapointsToAlarm ?? spec.evaluationPeriods,
      treatMissingData: spec.missingData.treat,
      actionsEnabled: true,
    };
    const alarm =
      spec.condition.kind === 'anomaly'
        ? new cloudwatch.AnomalyDetectionAlarm(this, alarmId, {
            ...common,
            metric,
            stdDevs: spec.condition.stdDevs(config),
            comparisonOperator: spec.condition.comparison,
          })
        : new cloudwatch.Alarm(this, alarmId, {
            ...common,
            metric,
            threshold: spec.condition.threshold(config),
            comparisonOperator: spec.condition.comparison,
          });
    if (signalOnly) return alarm;
    const action = new actions.SnsAction(props.onCall.topicFor(spec.severity));
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    return alarm;
  }
}

/** The catalogue alarm that suppresses the quiet-until-configured ones. */
const NOT_CONFIGURED_ALARM_ID = 'NotConfigured';

/** The period an alarm evaluates the metric at, in seconds. */
function periodOf(metric: cloudwatch.IMetric): number {
  const config = metric.toMetricConfig();
  const seconds = config.metricStat?.period.toSeconds() ?? config.mathExpression?.period;
  if (seconds === undefined) throw new Error('BrokerMonitoring: alarm metric has no period');
  return seconds;
}

/**
 * The staleness alarm's period: twice the schedule interval (so a late run still lands in it), at
 * least 5 minutes, in whole minutes (an alarm period must be a multiple of 60 s).
 */
export function refreshWindow(scheduleInterval: Duration): Duration {
  const seconds = scheduleInterval.toSeconds();
  if (seconds < 60 || seconds > 12 * 3600) {
    throw new Error(
      `BrokerMonitoring: refreshWorkflow.scheduleInterval must be between 1 minute and 12 hours (got ${seconds} s)`,
    );
  }
  return Duration.minutes(Math.max(5, Math.ceil((2 * seconds) / 60)));
}
