/**
 * Human output of the ops CLI (stdout tables). `--json` prints the command's result object
 * instead; progress and notes go to stderr.
 */
import Table from 'cli-table3';
import { stringify } from 'csv-stringify/sync';
import type { RowResult } from '../../../lambdas/adapters/dynamodb-member-registry';
import { AUDIT_COLUMNS, type AuditHistoryEntry, type AuditReport, type DispatchAuditReport } from './audit';
import type { InDoubtList, ReleaseResult } from './in-doubt';
import type { ClearedReport, ImportReport, MemberView, UnsuppressResult } from './members';
import { explainPause } from './pause-cause';
import type { PauseResult } from './pause';
import type { RedriveResult } from './redrive';
import type { ResumeResult } from './resume';
import type { StatusReport } from './status';

const table = (head: string[]) => new Table({ head, style: { head: [], border: [] } });
const show = (value: unknown) => (value === null || value === undefined || value === '' ? '-' : String(value));

export function renderStatus(report: StatusReport): string {
  // `local` is both the kind and the name of the local target: say it once.
  const where = report.target.kind === report.target.name ? report.target.kind : `${report.target.kind} ${report.target.name}`;
  const out: string[] = [`mail-dispatch status: ${where} at ${report.at}`];
  const queues = table(['queue', 'visible', 'in flight', 'delayed', 'oldest (s)']);
  for (const q of [report.queue, report.deadLetterQueue])
    queues.push([q.name, q.visible, q.inFlight, q.delayed, show(q.oldestMessageAgeSeconds)]);
  out.push(queues.toString());

  const pipeline = table(['pipeline', '']);
  const mapping = report.mapping.enabled === null ? `unknown (${report.mapping.note})` : report.mapping.enabled ? 'enabled' : 'DISABLED';
  pipeline.push(['event source', mapping]);
  const p = report.pause;
  if (p.paused) {
    pipeline.push(['pause flag', 'PAUSED']);
    pipeline.push(['  by / at', `${show(p.by)} at ${show(p.at)}`]);
    pipeline.push(['  reason', show(p.reason)]);
    if (p.alarmName) pipeline.push(['  alarm', p.alarmName]);
    if (p.addressHash) pipeline.push(['  address hash', p.addressHash]);
    const cause =
      p.by && p.reason ? { by: p.by, reason: p.reason, at: p.at ?? '', alarmName: p.alarmName, addressHash: p.addressHash } : undefined;
    pipeline.push([
      '  meaning',
      explainPause(
        cause,
        report.alarms?.map((a) => a.name),
      ) ?? 'NOT UNDERSTOOD: resume needs --force',
    ]);
  } else {
    pipeline.push(['pause flag', 'not paused']);
    if (p.resumedBy) pipeline.push(['  last resume', `${p.resumedBy} at ${show(p.resumedAt)}`]);
  }
  if (p.pauses !== undefined) pipeline.push(['  pauses so far', p.pauses]);
  out.push(pipeline.toString());

  if (report.alarms === null) out.push('alarms: not available (no CloudWatch; locally only through the control endpoint)');
  else {
    const alarms = table(['alarm', 'state', 'since']);
    for (const a of report.alarms) alarms.push([a.name, a.state, show(a.since)]);
    out.push(alarms.toString());
  }
  const counts = table([`ledger since ${report.lastHour.since}`, 'count']);
  for (const [state, count] of Object.entries(report.lastHour.byState)) counts.push([state, count]);
  counts.push(['total', report.lastHour.total]);
  out.push(counts.toString());
  return out.join('\n');
}

export function renderPause(result: PauseResult): string {
  const cause = `by ${result.cause.by} at ${result.cause.at}: ${result.cause.reason}`;
  const head = result.newlyPaused ? `Paused ${cause}.` : `Already paused ${cause} (the first cause is kept).`;
  const mapping =
    result.mapping === 'disabled'
      ? 'Event source disabled.'
      : 'Event source not reachable from here: the pause flag alone holds the dispatcher.';
  return `${head}\n${mapping}`;
}

export function renderResume(result: ResumeResult): string {
  if (result.outcome === 'new-pause') {
    const what =
      result.mapping === 'disabled-again'
        ? 'the event source was enabled, then disabled again'
        : 'the flag was left set, the event source left as it was';
    const by = result.newCause ? ` by ${result.newCause.by} (${result.newCause.reason}) at ${result.newCause.at}` : '';
    return `NOT resumed: a new pause arrived while resuming${by}; ${what}. Check \`status\` before resuming again.`;
  }
  const lines = [`Resumed by ${result.resumedBy}; event source ${result.mapping === 'enabled' ? 'enabled' : 'not reachable from here'}.`];
  const previous = result.previousCause;
  // An operator's pause is explained as "paused by <who>: <reason>" already: do not say "paused by" twice.
  if (previous && result.explanation?.startsWith('paused by ')) lines.push(`It was ${result.explanation} (at ${previous.at}).`);
  else if (previous) lines.push(`It was paused by ${previous.by} at ${previous.at}: ${result.explanation ?? previous.reason}`);
  else lines.push('The pause flag was not set.');
  for (const refusal of result.overridden) lines.push(`FORCED past: ${refusal}`);
  return lines.join('\n');
}

export function renderRedrive(result: RedriveResult): string {
  const kept = Object.entries(result.keptRejected);
  const lines = [`${result.dryRun ? 'Would move' : 'Moved'} ${result.moved} message(s) from the DLQ to the dispatch queue.`];
  if (kept.length > 0)
    lines.push(
      `Kept ${kept.reduce((n, [, c]) => n + c, 0)} rejected message(s) in the DLQ (${kept.map(([r, c]) => `${r}: ${c}`).join(', ')}); --include-rejected moves them.`,
    );
  if (result.failed > 0) lines.push(`${result.failed} message(s) could not be sent to the queue and stay in the DLQ.`);
  if (result.leftHidden > 0)
    lines.push(
      `${result.leftHidden} message(s) stayed hidden in the DLQ (a DLQ sweep or another consumer holds them) and were not moved: ` +
        'run redrive again in a few minutes.',
    );
  if (result.notDeleted.length > 0) {
    lines.push(
      `${result.notDeleted.length} message(s) were copied to the queue but SQS refused to delete them from the DLQ: a later redrive would move ` +
        `them again (claim-once keeps them from being sent twice). DLQ message ids: ${result.notDeleted.join(', ')}`,
    );
  }
  return lines.join('\n');
}

export function renderAudit(report: AuditReport, format: 'table' | 'csv', reveal: boolean): string {
  const columns = AUDIT_COLUMNS.filter((c) => reveal || c !== 'address');
  if (format === 'csv') {
    return stringify(
      report.rows.map((row) => columns.map((c) => (row as unknown as Record<string, unknown>)[c] ?? '')),
      { header: true, columns: [...columns] },
    ).trimEnd();
  }
  const rows = table([...columns]);
  for (const row of report.rows) rows.push(columns.map((c) => show((row as unknown as Record<string, unknown>)[c])));
  const s = report.summary;
  return `${rows.toString()}\n${s.dispatches} dispatch(es), ${s.sent} sent, ${s.members} member(s), ${s.addresses} address(es)\n${renderAuditWindow(report)}`;
}

/** `audit --dispatch`: per dispatchId, its record, its fate, its history version by version. */
export function renderDispatchAudit(report: DispatchAuditReport, reveal: boolean): string {
  const out: string[] = [];
  for (const d of report.dispatches) {
    if (!d.record && d.rejected.length === 0) {
      const hint = report.range
        ? ' in the window searched'
        : ' (a rejected body is recorded under its SQS message id: add --since to search those)';
      out.push(`${d.dispatchId}: no ledger record${hint}`);
      continue;
    }
    if (d.record) {
      const r = d.record;
      const head = table(['dispatch', d.dispatchId]);
      head.push(
        ['state', `${r.state}${r.reason ? ` (${r.reason})` : ''}`],
        [
          'fate',
          d.fate
            ? `${d.fate.fate}${details(d.fate.detail, ['recordedAt'])} at ${show(d.fate.at)}`
            : r.state === 'sent'
              ? 'none reported by SES yet'
              : '-',
        ],
        ['member', show(r.memberId)],
        ['address hash', show(r.addressHash)],
        ...(reveal ? [['address', show(r.address)]] : []),
        ['template', show(r.template)],
        ['claimed / sent', `${show(r.claimedAt)} / ${show(r.sentAt)}`],
        ['SES message id', show(r.sesMessageId)],
        ['reported not mine', show(r.reportedNotMineAt)],
        ['version', `${r.version} (updated ${show(r.updatedAt)})`],
      );
      out.push(head.toString(), renderHistory(d.history));
    }
    for (const rejected of d.rejected)
      out.push(
        `${d.dispatchId}: rejected body ${rejected.record.ledgerKey} (${show(rejected.record.reason)})`,
        renderHistory(rejected.history),
      );
  }
  const s = report.summary;
  out.push(
    `${s.found} of ${s.asked} dispatch(es) found, ${s.sent} sent${s.notFound.length > 0 ? `; not found: ${s.notFound.join(', ')}` : ''}`,
  );
  return out.join('\n');
}

function renderHistory(history: readonly AuditHistoryEntry[]): string {
  const rows = table(['version', 'at', 'event', 'detail']);
  for (const h of history) rows.push([h.version, show(h.at), h.event, details(h.detail).replace(/^ \(|\)$/g, '') || '-']);
  return rows.toString();
}

/** ` (key value, …)` of an entry's details, or nothing. */
function details(detail: Readonly<Record<string, unknown>>, skip: readonly string[] = []): string {
  const parts = Object.entries(detail)
    .filter(([key]) => !skip.includes(key))
    .map(([key, value]) => `${key} ${typeof value === 'object' ? JSON.stringify(value) : String(value)}`);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

/** The window an audit covered, in UTC, as the ledger compares it (claimedAt from ≤ t ≤ to). */
export function renderAuditWindow(report: Pick<AuditReport, 'range'>): string {
  return `window (UTC): ${report.range.from ?? 'the first record'} to ${report.range.to}`;
}

export function renderMemberResult(result: RowResult): string {
  if (result.outcome === 'registered') return `Registered ${result.memberId} (version ${result.version}).`;
  if (result.outcome === 'refused') return `Refused ${result.memberId}: ${result.reason} (${result.detail}).`;
  return `Failed ${result.memberId}: ${result.error.message}`;
}

export function renderMember(view: MemberView): string {
  const head = table(['member', view.memberId]);
  head.push(
    ['status', show(view.status)],
    ['suppressed (every address)', view.suppressed ? 'yes' : 'no'],
    ['version', show(view.version)],
    ['updated', show(view.updatedAt)],
  );
  const reveal = view.addresses.some((a) => a.address !== undefined);
  const addresses = table([
    'role',
    'address hash',
    ...(reveal ? ['address'] : []),
    `members on address (limit ${view.fanInLimit})`,
    'suppressed',
  ]);
  for (const a of view.addresses)
    addresses.push([a.role, a.addressHash, ...(reveal ? [show(a.address)] : []), a.membersOnAddress, a.suppressed ?? 'no']);
  const current = new Set(view.addresses.map((a) => a.addressHash));
  const former = view.suppressions.filter((s) => !current.has(s.addressHash));
  if (former.length === 0) return `${head.toString()}\n${addresses.toString()}`;
  const others = table(['suppressed address hash (no longer the member’s)', 'reason', 'since']);
  for (const s of former) others.push([s.addressHash, s.reason, show(s.at)]);
  return `${head.toString()}\n${addresses.toString()}\n${others.toString()}`;
}

export function renderUnsuppress(result: UnsuppressResult): string {
  const parts = [`${result.lifted.length} address suppression(s) lifted for ${result.memberId}`];
  if (result.liftedMemberFlag) parts.push('the member-wide flag removed');
  if (result.keptReports?.length)
    parts.push(
      `${result.keptReports.length} "not for me" report(s) kept: lift those with \`members clear-report ${result.memberId} --reason <ticket>\``,
    );
  return `${parts.join('; ')}.`;
}

export function renderImport(report: ImportReport): string {
  const lines = [
    `${report.registered.length} of ${report.rows} row(s) registered, ${report.refused.length} refused, ${report.failed.length} failed.`,
  ];
  if (report.refused.length + report.failed.length > 0) {
    const problems = table(['line', 'memberId', 'outcome', 'why']);
    for (const r of report.refused) problems.push([r.line, r.memberId, r.reason, r.detail]);
    for (const f of report.failed) problems.push([f.line, f.memberId, 'failed', f.error]);
    lines.push(problems.toString());
  }
  return lines.join('\n');
}

export function renderInDoubtList(list: InDoubtList): string {
  if (list.rows.length === 0) return `No in-doubt dispatches claimed between ${list.range.from} and ${list.range.to}.`;
  const rows = table(['dispatchId', 'state', 'in doubt since', 'age', 'memberId', 'address hash', 'template', 'SES event']);
  for (const r of list.rows) {
    rows.push([
      r.dispatchId,
      r.state,
      r.inDoubtSince,
      humanAge(r.ageSeconds),
      show(r.memberId),
      show(r.addressHash),
      show(r.template),
      r.sesEvent === 'arrived' ? `arrived (${show(r.sesMessageId)})` : 'none',
    ]);
  }
  const open = list.rows.filter((r) => r.state === 'in-doubt').length;
  return `${rows.toString()}\n${open} in doubt. Before releasing one, check SES (and, where you can, the recipient): a release of an e-mail that did go out sends it twice.`;
}

export function renderRelease(result: ReleaseResult): string {
  const lines = [
    `${result.released.length} released by ${result.releasedBy}${result.released.length > 0 ? `: ${result.released.join(', ')}` : ''}.`,
  ];
  for (const r of result.refused) lines.push(`Not released ${r.dispatchId}: ${r.why}${r.state ? ` (state ${r.state})` : ''}.`);
  return lines.join('\n');
}

function humanAge(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86_400)} d`;
}

export function renderClearReport(result: { memberId: string; cleared: readonly ClearedReport[] }): string {
  const rows = table(['address hash', 'reported at', 'cleared by', 'ticket']);
  for (const c of result.cleared) rows.push([c.addressHash, show(c.reportedAt), c.clearedBy, c.ticket]);
  return `Cleared ${result.cleared.length} "not for me" report(s) of member ${result.memberId}: mail to these addresses may be sent again.\n${rows.toString()}`;
}
