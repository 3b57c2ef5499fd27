import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import { verifyWebhookSignature, WebhookSignatureError } from '@metering/contracts';

export type Behaviour = 'ok' | 'fail' | 'hang' | 'process-then-fail';

/**
 * A real webhook receiver on 127.0.0.1, written as the docs tell a provider to: verify the
 * signature over the raw body, refuse what fails, process each event id once (idempotent), 2xx.
 * `script` decides the answer to each request in turn (then `ok`).
 */
export class WebhookReceiver {
  /** Side effects per event id: the idempotent receiver processes each once. */
  readonly processed = new Map<string, number>();
  /** 2xx answers per event id: billing-api stops once one is given. */
  readonly acknowledged = new Map<string, number>();
  /** The events' bodies as processed. */
  readonly bodies = new Map<string, unknown>();
  readonly requests: { eventId: string; signature: string; accepted: boolean; reason?: string }[] =
    [];
  secrets: string[] = [];
  script: Behaviour[] = [];
  private server: Server | null = null;
  private readonly hanging = new Set<ServerResponse>();
  url = '';

  async start(path = '/hooks'): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const header = req.headers['metering-signature'];
    const eventId = String(req.headers['metering-event-id'] ?? '');
    const entry = {
      eventId,
      signature: String(header ?? ''),
      accepted: false,
    } as (typeof this.requests)[number];
    this.requests.push(entry);
    const verified = this.secrets.some((secret) => {
      try {
        verifyWebhookSignature({ payload: body, header, secret });
        return true;
      } catch (error) {
        if (!(error instanceof WebhookSignatureError)) throw error;
        entry.reason = error.code;
        return false;
      }
    });
    if (!verified) {
      res.writeHead(400).end('bad signature');
      return;
    }
    entry.accepted = true;
    const behaviour = this.script.shift() ?? 'ok';
    if (behaviour === 'hang') {
      this.hanging.add(res);
      return;
    }
    if (behaviour === 'fail') {
      res.writeHead(500).end('x'.repeat(3000));
      return;
    }
    const event = JSON.parse(body.toString('utf8')) as { eventId: string };
    // Idempotent: an event id already processed is acknowledged and not processed again.
    if (!this.processed.has(event.eventId)) {
      this.processed.set(event.eventId, 1);
      this.bodies.set(event.eventId, event);
    }
    if (behaviour === 'process-then-fail') {
      res.writeHead(500).end('crashed after processing');
      return;
    }
    this.acknowledged.set(event.eventId, (this.acknowledged.get(event.eventId) ?? 0) + 1);
    res.writeHead(200).end('ok');
  }
}
