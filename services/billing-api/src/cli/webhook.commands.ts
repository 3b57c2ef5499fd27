import { type Command } from 'commander';
import type { Principal } from '../auth/principal';
import { PAGE_DEFAULT, PAGE_MAX } from '../common/page.dto';
import type { DeliveryView, WebhookEndpointService } from '../webhooks/webhook-endpoint.service';
import {
  named,
  parseCursor,
  parseDeliveryId,
  parseDeliveryStatus,
  parseEndpointStatus,
  parseResourceId,
  parseLimit,
  printable,
} from './cli-args';
import { type CliRuntime } from './cli-runtime';

const webhooks = (rt: CliRuntime): Promise<WebhookEndpointService> =>
  rt.get(
    async () => (await import('../webhooks/webhook-endpoint.service.js')).WebhookEndpointService,
  );

/** The operator sees what the admin key sees. */
const OPERATOR: Principal = { kind: 'admin' };
const JSON_HELP = 'print the answer as one JSON document on stdout (as the HTTP API answers)';

function deliveryLine(d: DeliveryView): string {
  const last =
    d.lastStatusCode !== null
      ? `HTTP ${d.lastStatusCode} in ${d.lastLatencyMs ?? '?'} ms`
      : d.lastError !== null
        ? printable(d.lastError)
        : 'not tried yet';
  const when = d.status === 'pending' ? `next ${d.nextAttemptAt ?? '-'}` : (d.deliveredAt ?? '-');
  return `${d.id}\t${d.status}\t${d.attempts} attempts\t${d.eventType}\t${d.endpointId}\t${last}\t${when}`;
}

/** The options every list that answers a page at a time takes, after its own filters. */
function withPaging(command: Command): Command {
  return command
    .option(
      '--limit <n>',
      `at most n (1-${PAGE_MAX}, default ${PAGE_DEFAULT})`,
      named('--limit', parseLimit),
    )
    .option('--cursor <cursor>', 'the previous page’s next cursor', named('--cursor', parseCursor))
    .option('--json', JSON_HELP);
}

/** A page as lines (one per item, then the next page's cursor), or with --json as the API answers. */
function printPage<T>(
  rt: CliRuntime,
  page: { readonly data: readonly T[]; readonly nextCursor: string | null },
  json: boolean | undefined,
  lineOf: (item: T) => string,
  none: string,
): void {
  if (json === true) return rt.json(page);
  rt.text(page.data.map(lineOf));
  if (page.data.length === 0) rt.io.err.write(`${none}\n`);
  if (page.nextCursor !== null) rt.text([`next page: --cursor ${page.nextCursor}`]);
}

/** `deliveries list|redeliver` and `endpoints list`: the webhook log, through the API's service. */
export function registerWebhookCommands(program: Command, rt: CliRuntime): void {
  const deliveries = program
    .command('deliveries')
    .summary('the webhook delivery log: list, redeliver')
    .description('The webhook delivery log (what GET /v1/webhook-endpoints/:id/deliveries shows).');

  withPaging(
    deliveries
      .command('list')
      .summary('deliveries, newest first, a page at a time')
      .description(
        'Deliveries newest first: id, status, attempts, event type, endpoint, the last answer, and ' +
          'the next attempt (pending) or the delivery time. A full page ends with the cursor of the ' +
          'next one (--json: `nextCursor`).',
      )
      .option(
        '--endpoint <id>',
        "one endpoint's deliveries (see `endpoints list`)",
        named('--endpoint', parseResourceId),
      )
      .option(
        '--status <status>',
        'pending, delivered or failed',
        named('--status', parseDeliveryStatus),
      ),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  npm run billing -- deliveries list --status failed --limit 20\n' +
        '  npm run billing -- deliveries list --endpoint we_0123abcd --json',
    )
    .action(
      async (opts: {
        endpoint?: string;
        status?: string;
        limit?: number;
        cursor?: string;
        json?: boolean;
      }) => {
        const page = await (
          await webhooks(rt)
        ).deliveryPage(OPERATOR, {
          endpointId: opts.endpoint,
          status: opts.status,
          limit: opts.limit,
          cursor: opts.cursor,
        });
        printPage(rt, page, opts.json, deliveryLine, 'no deliveries');
      },
    );

  deliveries
    .command('redeliver')
    .summary('deliver one again now (same event id), with a fresh retry window')
    .description(
      'Queue a delivery again (POST /v1/webhook-deliveries/:id/redeliver): due now, with a fresh ' +
        "retry window and the same event id (receivers dedupe). A running billing-api's delivery " +
        'worker sends it. Exit 1 when the delivery does not exist or its endpoint is disabled.',
    )
    .argument(
      '<deliveryId>',
      'the delivery id (see `deliveries list`)',
      named('deliveryId', parseDeliveryId),
    )
    .option('--json', JSON_HELP)
    .addHelpText('after', '\nExample:\n  npm run billing -- deliveries redeliver 42')
    .action(async (id: string, opts: { json?: boolean }) => {
      const delivery = await (await webhooks(rt)).redeliver(OPERATOR, id);
      if (opts.json === true) return rt.json(delivery);
      rt.text([
        `delivery ${delivery.id} (${delivery.eventType} to ${delivery.endpointId}) is due again now`,
      ]);
    });

  const endpoints = program
    .command('endpoints')
    .summary('webhook endpoints: list')
    .description('Webhook endpoints (what GET /v1/webhook-endpoints shows the admin key).');
  withPaging(
    endpoints
      .command('list')
      .summary("endpoints, or one tenant's, a page at a time")
      .description(
        'Webhook endpoints in creation order: id, status, owner (a tenant or the provider), URL, ' +
          'event types. A full page ends with the cursor of the next one (--json: `nextCursor`).',
      )
      .option('--tenant <id>', "one tenant's endpoints", named('--tenant', parseResourceId))
      .option('--status <status>', 'enabled or disabled', named('--status', parseEndpointStatus)),
  )
    .addHelpText('after', '\nExample:\n  npm run billing -- endpoints list --json')
    .action(
      async (opts: {
        tenant?: string;
        status?: string;
        limit?: number;
        cursor?: string;
        json?: boolean;
      }) => {
        const page = await (
          await webhooks(rt)
        ).endpointPage(OPERATOR, {
          tenantId: opts.tenant,
          status: opts.status,
          limit: opts.limit,
          cursor: opts.cursor,
        });
        printPage(
          rt,
          page,
          opts.json,
          (e) =>
            `${e.id}\t${e.status}\t${e.tenantId ?? '(provider)'}\t${e.url}\t${e.eventTypes.join(',')}` +
            (e.disabledReason === null ? '' : `\t${printable(e.disabledReason)}`),
          'no webhook endpoints',
        );
      },
    );
}
