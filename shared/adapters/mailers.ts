import { type SESv2Client, SendEmailCommand } from "@aws-sdk/client-sesv2";
import { PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import type { EmailMessage, Mailer } from "../events/actions.ts";

/** Send Email through Amazon SES (v2 API) from a verified identity. */
export class SesMailer implements Mailer {
  constructor(
    private readonly client: SESv2Client,
    private readonly from: string,
    private readonly configurationSet?: string,
  ) {}

  async send(message: EmailMessage): Promise<void> {
    await this.client.send(
      new SendEmailCommand({
        FromEmailAddress: this.from,
        Destination: { ToAddresses: [...message.to] },
        Content: {
          Simple: {
            Subject: { Data: message.subject, Charset: "UTF-8" },
            Body: { Text: { Data: message.text, Charset: "UTF-8" } },
          },
        },
        ...(this.configurationSet ? { ConfigurationSetName: this.configurationSet } : {}),
      }),
    );
  }
}

/** SNS's limit on an email subject: 100 printable ASCII characters, no line breaks. */
const SNS_SUBJECT = 100;

/**
 * Send Email where SES is not set up: publishes to an SNS topic whose email subscriptions deliver
 * it. The recipients go in the `to` message attribute (String.Array), so each subscription can
 * carry a filter policy such as `{"to": ["ops@example.com"]}` and receive only its own mail.
 */
export class SnsMailer implements Mailer {
  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
  ) {}

  async send(message: EmailMessage): Promise<void> {
    const subject = message.subject
      .replace(/[^\x20-\x7e]/g, "?")
      .slice(0, SNS_SUBJECT)
      .trim();
    await this.client.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Subject: subject || "mft-failover",
        Message: `To: ${message.to.join(", ")}\n\n${message.text}`,
        MessageAttributes: {
          to: { DataType: "String.Array", StringValue: JSON.stringify(message.to) },
        },
      }),
    );
  }
}

/** When neither is configured, email actions fail with this reason (HTTP actions still run). */
export const unconfiguredMailer: Mailer = {
  send: async () => {
    throw new Error("email is not configured: set MAIL_FROM (SES) or MAIL_TOPIC_ARN (SNS)");
  },
};
