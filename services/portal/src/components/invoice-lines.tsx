import { money } from '../format';

interface Line {
  readonly description: string;
  readonly quantity: string;
  readonly unit: string;
  readonly amount: string;
  readonly unitPrice?: string | null;
}

/**
 * An invoice's lines as a table with their total: the issued invoice's (with unit prices) and the
 * month-to-date draft's on the overview (without: they are tiered or not final).
 */
export function InvoiceLines(props: {
  readonly lines: readonly Line[];
  readonly currency: string;
  readonly label: string;
  readonly total: string;
  readonly totalLabel: string;
  readonly withUnitPrice?: boolean;
  readonly totalTestId?: string;
}) {
  const { lines, currency, withUnitPrice = false } = props;
  return (
    <div class="table-scroll" tabIndex={0} role="region" aria-label={props.label}>
      <table>
        <thead>
          <tr>
            <th scope="col">Description</th>
            <th scope="col" class="num">
              Quantity
            </th>
            <th scope="col">Unit</th>
            {withUnitPrice ? (
              <th scope="col" class="num">
                Unit price
              </th>
            ) : null}
            <th scope="col" class="num">
              Amount
            </th>
          </tr>
        </thead>
        <tbody>
          {lines.map((l, i) => (
            <tr key={i}>
              <td>{l.description}</td>
              <td class="num">{l.quantity}</td>
              <td>{l.unit}</td>
              {withUnitPrice ? <td class="num">{l.unitPrice ?? 'tiered'}</td> : null}
              <td class="num">{money(l.amount, currency)}</td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr>
            <th scope="row" colSpan={withUnitPrice ? 4 : 3}>
              {props.totalLabel}
            </th>
            <td class="num" data-testid={props.totalTestId}>
              {money(props.total, currency)}
            </td>
          </tr>
        </tfoot>
      </table>
    </div>
  );
}
