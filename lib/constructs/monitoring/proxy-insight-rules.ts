import { Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ProxyErrorCode } from '../../../contract/proxy-api';
import type { InsightRuleBody, InsightRuleFilter } from './caller-insight-rules';

/**
 * Contributor Insights rules over proxy-throughline's log group (proxy mode), keyed on the caller:
 * who spends ThroughLine's quota, and who is refused for its share. They read the one audit line
 * the function writes per proxied call (Powertools JSON: `{"message":"ThroughLine call","audit":{…}}`,
 * lambda/handlers/proxy-throughline.ts); the EMF and other lines of the log group do not match.
 * Per-caller counts stay in the rules, never in metric dimensions (a metric per caller, forever).
 * test/integration/metric-contract.test.ts evaluates them on the bundled handler's own lines.
 */

/** The `message` of the audit line. */
export const PROXY_AUDIT_MESSAGE = 'ThroughLine call';

/** The audit-line fields the rules read, in the rule syntax's JSON path notation. */
export const PROXY_AUDIT_FIELDS = {
  message: '$.message',
  /** The caller principal, normalised to its role (an assumed-role session counts as its role). */
  caller: '$.audit.caller',
  /** Requests sent to ThroughLine's API for the call (2 after a 401 and its retry; absent or 0 when none was sent). */
  attempts: '$.audit.attempts',
  /** The broker's error code of a refusal (contract/proxy-api.ts ProxyErrorCode). */
  error: '$.audit.error',
} as const;
export type ProxyAuditField = keyof typeof PROXY_AUDIT_FIELDS;

export interface ProxyRuleDefinition {
  /** Suffix of the rule name (after the service name). */
  readonly name: string;
  readonly keys: readonly ProxyAuditField[];
  /** Sum this field per contributor; without it, count the matching lines. */
  readonly sumOf?: ProxyAuditField;
  readonly filters: readonly InsightRuleFilter[];
}

const AUDIT_LINES: InsightRuleFilter = { Match: PROXY_AUDIT_FIELDS.message, In: [PROXY_AUDIT_MESSAGE] };

export const PROXY_RULES = {
  /**
   * Top consumers of ThroughLine calls: the requests each caller's calls sent to ThroughLine's API
   * (the quota's unit, UpstreamApiCall), whatever came back — a 401 and its retry count two, a
   * timeout one; refusals before sending and cache hits none.
   */
  consumers: {
    name: 'throughline-consumers',
    keys: ['caller'],
    sumOf: 'attempts',
    filters: [AUDIT_LINES, { Match: PROXY_AUDIT_FIELDS.attempts, GreaterThan: 0 }],
  },
  /** Calls refused for the caller's daily share (429 quota_share_exhausted), by caller. */
  shareRefused: {
    name: 'throughline-share-refused',
    keys: ['caller'],
    filters: [AUDIT_LINES, { Match: PROXY_AUDIT_FIELDS.error, In: [ProxyErrorCode.QuotaShareExhausted] }],
  },
} as const satisfies Record<string, ProxyRuleDefinition>;

export function proxyRuleBody(definition: ProxyRuleDefinition, logGroupName: string): InsightRuleBody {
  return {
    Schema: { Name: 'CloudWatchLogRule', Version: 1 },
    LogGroupNames: [logGroupName],
    LogFormat: 'JSON',
    Contribution: {
      Keys: definition.keys.map((k) => PROXY_AUDIT_FIELDS[k]),
      ...(definition.sumOf ? { ValueOf: PROXY_AUDIT_FIELDS[definition.sumOf] } : {}),
      Filters: definition.filters,
    },
    AggregateOn: definition.sumOf ? 'Sum' : 'Count',
  };
}

export interface ProxyInsightRulesProps {
  readonly serviceName: string;
  /** proxy-throughline's log group. */
  readonly logGroup: logs.ILogGroup;
}

export class ProxyInsightRules extends Construct {
  readonly consumers: cloudwatch.CfnInsightRule;
  readonly shareRefused: cloudwatch.CfnInsightRule;

  constructor(scope: Construct, id: string, props: ProxyInsightRulesProps) {
    super(scope, id);
    const rule = (ruleId: string, definition: ProxyRuleDefinition) => {
      const insightRule = new cloudwatch.CfnInsightRule(this, ruleId, {
        ruleName: `${props.serviceName}-${definition.name}`,
        ruleState: 'ENABLED',
        ruleBody: Stack.of(this).toJsonString(proxyRuleBody(definition, props.logGroup.logGroupName)),
      });
      // No Tags, as for the access-log rules (caller-insight-rules.ts): stack tags would be passed to
      // PutInsightRule twice and fail the create with INVALID_TAGS (aws-cdk#20103, #30056).
      insightRule.addPropertyDeletionOverride('Tags');
      return insightRule;
    };
    this.consumers = rule('Consumers', PROXY_RULES.consumers);
    this.shareRefused = rule('ShareRefused', PROXY_RULES.shareRefused);
  }
}
