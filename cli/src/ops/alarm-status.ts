/**
 * An alarm's state as the ops commands show it. Its own module so that both the target (the
 * stack's CloudWatch) and the local control server use it without importing each other.
 */
export type AlarmStateValue = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

export interface AlarmStatus {
  readonly name: string;
  readonly state: AlarmStateValue;
  /** When the alarm entered its state (ISO-8601). */
  readonly since?: string;
}
