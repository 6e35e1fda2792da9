import { Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ACCESS_LOG_FIELDS, type AccessLogField } from '../access-log-format';

/**
 * Contributor Insights rules over the token API's JSON access log, keyed on the caller's IAM ARN.
 * Per-caller counts live in the rules (billed per matching log event), never in metric
 * dimensions (billed per distinct caller and forever). Alarms read them with INSIGHT_RULE_METRIC.
 */

/** A log field in the rule's JSON path notation, checked against the fields the API actually writes. */
export function accessLogPath(field: AccessLogField): string {
  if (!(field in ACCESS_LOG_FIELDS)) throw new Error(`${field} is not an access-log field`);
  return `$.${field}`;
}

/** What API Gateway writes for a context variable it has no value for (e.g. no caller on an unsigned request). */
export const ACCESS_LOG_NO_VALUE = ['-', ''] as const;

/** The subset of the rule syntax these rules use (all operators of the Contributor Insights syntax). */
export type InsightRuleFilter =
  | { readonly Match: string; readonly In: readonly string[] }
  | { readonly Match: string; readonly NotIn: readonly string[] }
  | { readonly Match: string; readonly StartsWith: readonly string[] }
  | { readonly Match: string; readonly EqualTo: number }
  | { readonly Match: string; readonly NotEqualTo: number }
  | { readonly Match: string; readonly GreaterThan: number }
  | { readonly Match: string; readonly LessThan: number }
  | { readonly Match: string; readonly IsPresent: boolean };

export interface InsightRuleBody {
  readonly Schema: { readonly Name: 'CloudWatchLogRule'; readonly Version: 1 };
  readonly LogGroupNames: readonly string[];
  readonly LogFormat: 'JSON';
  readonly Contribution: {
    readonly Keys: readonly string[];
    /** With AggregateOn Sum: the numeric field summed per contributor. */
    readonly ValueOf?: string;
    readonly Filters: readonly InsightRuleFilter[];
  };
  readonly AggregateOn: 'Count' | 'Sum';
}

export interface CallerRuleDefinition {
  /** Suffix of the rule name (after the service name). */
  readonly name: string;
  readonly keys: readonly AccessLogField[];
  readonly filters: readonly InsightRuleFilter[];
}

/** The three rules: every caller; every 403 (by caller and source IP); refused authenticated principals. */
export const CALLER_RULES = {
  callers: { name: 'callers', keys: ['caller'], filters: [] },
  forbidden: {
    name: 'forbidden',
    // Unsigned probes have no caller ARN: the source IP tells them apart.
    keys: ['caller', 'sourceIp'],
    filters: [{ Match: accessLogPath('status'), EqualTo: 403 }],
  },
  refusedPrincipals: {
    name: 'refused-principals',
    keys: ['caller'],
    // A 403 with a caller ARN: the signature was valid, so the principal is real, and the
    // resource policy (the allow-list) refused it.
    filters: [
      { Match: accessLogPath('status'), EqualTo: 403 },
      { Match: accessLogPath('caller'), NotIn: ACCESS_LOG_NO_VALUE },
    ],
  },
} as const satisfies Record<string, CallerRuleDefinition>;

export function callerRuleBody(definition: CallerRuleDefinition, logGroupName: string): InsightRuleBody {
  return {
    Schema: { Name: 'CloudWatchLogRule', Version: 1 },
    LogGroupNames: [logGroupName],
    LogFormat: 'JSON',
    Contribution: { Keys: definition.keys.map(accessLogPath), Filters: definition.filters },
    AggregateOn: 'Count',
  };
}

export interface CallerInsightRulesProps {
  readonly serviceName: string;
  readonly accessLogGroup: logs.ILogGroup;
}

export class CallerInsightRules extends Construct {
  readonly callers: cloudwatch.CfnInsightRule;
  readonly forbidden: cloudwatch.CfnInsightRule;
  readonly refusedPrincipals: cloudwatch.CfnInsightRule;

  constructor(scope: Construct, id: string, props: CallerInsightRulesProps) {
    super(scope, id);
    const rule = (ruleId: string, definition: CallerRuleDefinition) => {
      const insightRule = new cloudwatch.CfnInsightRule(this, ruleId, {
        ruleName: `${props.serviceName}-${definition.name}`,
        ruleState: 'ENABLED',
        ruleBody: Stack.of(this).toJsonString(callerRuleBody(definition, props.accessLogGroup.logGroupName)),
      });
      // No Tags in the template: CloudFormation adds stack-level tags (`cdk deploy --tags`) to PutInsightRule
      // as well, and the duplicated keys fail the create with INVALID_TAGS (aws-cdk#20103, #30056). The rules
      // are found by name (<stack>-<rule>), not by tag.
      insightRule.addPropertyDeletionOverride('Tags');
      return insightRule;
    };
    this.callers = rule('Callers', CALLER_RULES.callers);
    this.forbidden = rule('Forbidden', CALLER_RULES.forbidden);
    this.refusedPrincipals = rule('RefusedPrincipals', CALLER_RULES.refusedPrincipals);
  }
}
