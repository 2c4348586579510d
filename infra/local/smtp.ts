import type { AddressInfo } from "node:net";
import { createTransport } from "nodemailer";
import { SMTPServer } from "smtp-server";
import type { EmailMessage, Mailer } from "../../shared/events/actions.ts";
import { LocalStartupError } from "./dynamodb-local.ts";

/** A message the local SMTP server received, decoded for reading. */
export interface ReceivedMail {
  readonly id: number;
  readonly receivedAt: string;
  readonly from: string;
  readonly to: string[];
  readonly subject: string;
  readonly text: string;
}

export interface LocalMailServer {
  readonly host: string;
  readonly port: number;
  /** A Mailer that delivers to this server. */
  readonly mailer: Mailer;
  messages(): readonly ReceivedMail[];
  stop(): Promise<void>;
}

/** Messages kept in memory; older ones are dropped first. */
const KEEP = 1000;
const MAX_MESSAGE_BYTES = 10 * 1024 * 1024;
export const LOCAL_MAIL_FROM = "mft-failover@localhost";

/**
 * Local mode's mailbox: an SMTP server on 127.0.0.1 (the `smtp-server` package) that accepts
 * every message without TLS or auth and keeps it in memory for `mft-failover mail list`.
 */
export async function startSmtpServer(options: {
  readonly port: number;
}): Promise<LocalMailServer> {
  const received: ReceivedMail[] = [];
  let nextId = 1;
  const server = new SMTPServer({
    name: "mft-failover.localhost",
    banner: "mft-failover local mailbox",
    authOptional: true,
    // No DNS lookups for a loopback client: they only slow each message down.
    disableReverseLookup: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    size: MAX_MESSAGE_BYTES,
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        if ((stream as { sizeExceeded?: boolean }).sizeExceeded) {
          callback(Object.assign(new Error("message too big"), { responseCode: 552 }));
          return;
        }
        const parsed = parseMessage(Buffer.concat(chunks).toString("utf8"));
        const sender = session.envelope.mailFrom;
        received.push({
          id: nextId++,
          receivedAt: new Date().toISOString(),
          from: sender ? sender.address : "",
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          ...parsed,
        });
        if (received.length > KEEP) received.shift();
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        error.code === "EADDRINUSE"
          ? new LocalStartupError(`port ${options.port} is already in use (SMTP, MFT_SMTP_PORT)`)
          : error,
      ),
    );
    server.listen(options.port, "127.0.0.1", () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;
  return {
    host: "127.0.0.1",
    port,
    mailer: new SmtpMailer({ host: "127.0.0.1", port, from: LOCAL_MAIL_FROM, secure: false }),
    messages: () => received,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A Mailer over SMTP (nodemailer); locally it talks to the server above. */
export class SmtpMailer implements Mailer {
  private readonly transport;

  constructor(
    private readonly options: {
      readonly host: string;
      readonly port: number;
      readonly from: string;
      /** false: plain SMTP, for the loopback mailbox only. */
      readonly secure: boolean;
      readonly timeoutMs?: number;
    },
  ) {
    const timeout = options.timeoutMs ?? 10_000;
    this.transport = createTransport({
      host: options.host,
      port: options.port,
      secure: options.secure,
      ignoreTLS: !options.secure,
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
    });
  }

  async send(message: EmailMessage): Promise<void> {
    await this.transport.sendMail({
      from: this.options.from,
      to: [...message.to],
      subject: message.subject,
      text: message.text,
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Reading what arrived: enough MIME for the single-part text messages triggers send.
// ---------------------------------------------------------------------------------------------

export function parseMessage(raw: string): { subject: string; text: string } {
  const split = raw.search(/\r?\n\r?\n/);
  const head = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? "" : raw.slice(split).replace(/^\r?\n\r?\n/, "");
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r?\n[ \t]+/g, " ").split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0)
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const encoding = (headers.get("content-transfer-encoding") ?? "7bit").toLowerCase();
  return {
    subject: decodeWords(headers.get("subject") ?? ""),
    text: decodeBody(body, encoding).replace(/\r\n/g, "\n").replace(/\n$/, ""),
  };
}

function decodeBody(body: string, encoding: string): string {
  if (encoding === "base64")
    return Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
  if (encoding === "quoted-printable") return decodeQuotedPrintable(body);
  return body;
}

function decodeQuotedPrintable(text: string): string {
  const source = text.replace(/=\r?\n/g, "");
  const bytes: number[] = [];
  for (let i = 0; i < source.length; i++) {
    const hex = source.slice(i + 1, i + 3);
    if (source[i] === "=" && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(source[i] ?? "", "utf8"));
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

/** RFC 2047 encoded words (`=?UTF-8?Q?...?=`, `=?UTF-8?B?...?=`); adjacent words join. */
function decodeWords(value: string): string {
  return value
    .replace(/(\?=)\s+(=\?)/g, "$1$2")
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_, _charset, kind: string, data: string) =>
      kind.toUpperCase() === "B"
        ? Buffer.from(data, "base64").toString("utf8")
        : decodeQuotedPrintable(data.replace(/_/g, " ")),
    );
}
