/**
 * The relay's store: the only code that speaks SQL. One repository per aggregate, each
 * method one guarded statement or one transaction taking an optional transaction to compose
 * in (`tx`); the layers above (services, ingest, delivery, alerts) call these and nothing
 * below them. Nothing here calls back up or keeps another layer's memory.
 */
import { Accounts } from './accounts.js';
import { Activity } from './activity.js';
import { Alerts } from './alerts.js';
import { openDb, type Db, type DbLog, type Queryable } from './db.js';
import { Claims } from './deliveries/claim.js';
import { DeliveryList } from './deliveries/list.js';
import { Manage } from './deliveries/manage.js';
import { Outcomes } from './deliveries/outcomes.js';
import { Derive } from './derive.js';
import { Events } from './events.js';
import { Hooks } from './hooks.js';
import { migrate } from './migrations/index.js';
import { Retention } from './retention.js';
import { Settings } from './settings.js';
import { Stats } from './stats.js';
import { Tokens } from './tokens.js';
import { watchWrites, type WatchedDb } from './write-health.js';

export class Store {
  readonly accounts: Accounts;
  readonly tokens: Tokens;
  readonly hooks: Hooks;
  readonly events: Events;
  readonly activity: Activity;
  readonly derive: Derive;
  readonly claims: Claims;
  readonly outcomes: Outcomes;
  readonly deliveries: Manage;
  readonly deliveryList: DeliveryList;
  readonly alerts: Alerts;
  readonly settings: Settings;
  readonly retention: Retention;
  readonly stats: Stats;

  /**
   * `db` is public for the tests' and benchmarks' own reads; the relay's code goes through the
   * repositories.
   */
  constructor(readonly db: Db) {
    this.accounts = new Accounts(db);
    this.tokens = new Tokens(db);
    this.hooks = new Hooks(db);
    this.events = new Events(db);
    this.activity = new Activity(db);
    this.derive = new Derive(db, this.events, this.activity);
    this.claims = new Claims(db, this.events);
    this.alerts = new Alerts(db);
    this.outcomes = new Outcomes(db, this.hooks, this.alerts);
    this.deliveries = new Manage(db);
    this.deliveryList = new DeliveryList(db);
    this.settings = new Settings(db);
    this.retention = new Retention(db);
    this.stats = new Stats(db);
  }

  /** Opens the database a RELAY_DATABASE_URL names (`sqlite:PATH` or `postgres://…`). */
  static async open(url: string, log?: DbLog): Promise<Store> {
    return new Store(watchWrites(await openDb(url, log), log));
  }

  /** Brings the schema to the newest version (or, for the migration tests, to `upTo`). */
  migrate(upTo = Infinity): Promise<void> {
    return migrate(this.db, upTo);
  }

  /** Runs `fn` in one transaction, for a service that composes several repositories' statements. */
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return this.db.tx(fn);
  }

  async ping(): Promise<void> {
    await this.db.query('SELECT 1 AS ok');
  }

  /**
   * Why the store cannot take writes now; null when it can. It answers reads; after a write was
   * refused for want of space, this looks for room again itself (a relay taken out of a load
   * balancer for it gets no other write to find out by).
   */
  async cannotWrite(): Promise<string | null> {
    await this.ping();
    const db = this.db as Partial<WatchedDb>;
    if (!db.recheck || !db.cannotWrite) return null;
    return db.recheck(() => this.settings.set('write_probe', String(Date.now())));
  }

  /** How many write transactions are worth running at once. */
  get writers(): number {
    return this.db.dialect.writers;
  }

  /** Where the data lives, without credentials (for logs). */
  get describe(): string {
    return this.db.describe;
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

export type { Queryable } from './db.js';
