import { Aws } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';

export interface ContributorInsightsWidgetProps {
  /** Name of the Contributor Insights rule (e.g. the CfnInsightRule's attrRuleName). */
  readonly ruleName: string;
  readonly title: string;
  /** @default 10 */
  readonly topContributors?: number;
  /** @default 12 */
  readonly width?: number;
  /** @default 6 */
  readonly height?: number;
}

/**
 * A dashboard graph of a Contributor Insights rule's top contributors (e.g. top callers).
 * aws-cdk-lib has no widget for it; this renders the dashboard body's `insightRule` form.
 */
export class ContributorInsightsWidget extends cloudwatch.ConcreteWidget {
  constructor(private readonly props: ContributorInsightsWidgetProps) {
    super(props.width ?? 12, props.height ?? 6);
  }

  override toJson(): unknown[] {
    return [
      {
        type: 'metric',
        width: this.width,
        height: this.height,
        x: this.x,
        y: this.y,
        properties: {
          title: this.props.title,
          region: Aws.REGION,
          view: 'timeSeries',
          stacked: false,
          period: 300,
          legend: { position: 'right' },
          insightRule: {
            maxContributorCount: this.props.topContributors ?? 10,
            orderBy: 'Sum',
            ruleName: this.props.ruleName,
          },
        },
      },
    ];
  }
}
