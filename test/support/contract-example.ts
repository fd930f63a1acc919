/** The message contract's own example (DESIGN.md), shared by the parser and publisher tests. */
export const CONTRACT_EXAMPLE = {
  dispatchId: 'adv-2000-08-02-000123',
  memberId: 'M0001234',
  to: 'pat@example.org',
  template: 'advice-nurse-reply',
  data: { firstName: 'Pat' },
  requestedAt: '2000-08-02T09:00:00Z',
} as const;
