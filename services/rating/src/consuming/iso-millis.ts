// A timestamp's bytes read as epoch milliseconds, for the byte reader of samples (sample-bytes.ts).

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function digit(buf: Uint8Array, k: number): number {
  const c = buf[k];
  return c !== undefined && c >= 0x30 && c <= 0x39 ? c - 0x30 : NaN;
}

function twoDigits(buf: Uint8Array, k: number): number {
  return digit(buf, k) * 10 + digit(buf, k + 1);
}

/** Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/**
 * buf[start, end) as `YYYY-MM-DDTHH:MM:SSZ` or `YYYY-MM-DDTHH:MM:SS.mmmZ`, a real date and time
 * (years 0000–9999, the Gregorian leap years), in epoch milliseconds: what Date.parse gives for
 * it. NaN for anything else (other zones, other precisions, impossible dates), which the
 * contract's decoder then judges.
 */
export function isoMillis(buf: Uint8Array, start: number, end: number): number {
  const n = end - start;
  if (n !== 20 && n !== 24) return NaN;
  const s = start;
  if (buf[s + 4] !== 0x2d || buf[s + 7] !== 0x2d || buf[s + 10] !== 0x54) return NaN;
  if (buf[s + 13] !== 0x3a || buf[s + 16] !== 0x3a || buf[end - 1] !== 0x5a) return NaN;
  const year = twoDigits(buf, s) * 100 + twoDigits(buf, s + 2);
  const month = twoDigits(buf, s + 5);
  const day = twoDigits(buf, s + 8);
  const hour = twoDigits(buf, s + 11);
  const minute = twoDigits(buf, s + 14);
  const second = twoDigits(buf, s + 17);
  let ms = 0;
  if (n === 24) {
    if (buf[s + 19] !== 0x2e) return NaN;
    ms = digit(buf, s + 20) * 100 + twoDigits(buf, s + 21);
  }
  // A NaN anywhere (a byte that is not a digit) fails every comparison but the first.
  if (!(year + month + day + hour + minute + second + ms >= 0)) return NaN;
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return NaN;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > (month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!)) return NaN;
  return (
    daysFromCivil(year, month, day) * 86_400_000 +
    hour * 3_600_000 +
    minute * 60_000 +
    second * 1000 +
    ms
  );
}
