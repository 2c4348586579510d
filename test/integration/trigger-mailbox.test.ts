import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalMailServer, parseMessage, startSmtpServer } from "../../infra/local/smtp.ts";

describe("the local mailbox (SMTP on 127.0.0.1)", () => {
  let mailbox: LocalMailServer;
  beforeAll(async () => {
    mailbox = await startSmtpServer({ port: 0 });
  });
  afterAll(() => mailbox.stop());

  it("receives what the SMTP mailer sends and decodes it, non-ASCII and long lines included", async () => {
    const text = `Réplication échouée: ${"é".repeat(120)}\nsecond line = ok`;
    await mailbox.mailer.send({
      to: ["ops@example.com", "dr@example.com"],
      subject: "Sync échoué ✗",
      text,
    });

    const [mail] = mailbox.messages();
    expect(mailbox.host).toBe("127.0.0.1");
    expect(mail).toMatchObject({
      id: 1,
      from: "mft-failover@localhost",
      to: ["ops@example.com", "dr@example.com"],
      subject: "Sync échoué ✗",
      text,
    });
  });

  it("decodes base64 bodies and folded, encoded subjects", () => {
    const raw = [
      "Subject: =?UTF-8?B?w6lsw6k=?=",
      " =?UTF-8?Q?_d=C3=A9j=C3=A0?=",
      "Content-Transfer-Encoding: base64",
      "",
      Buffer.from("hé\r\nthere").toString("base64"),
      "",
    ].join("\r\n");
    expect(parseMessage(raw)).toEqual({ subject: "élé déjà", text: "hé\nthere" });
  });
});
