import { describe, expect, it } from 'vitest';
import {
  effectiveAction,
  effectiveActions,
  enforcementProblems,
  type EnforcementPoint,
} from '../../../src/engine/policy/enforcement.js';

const WEBHOOK = 'validation.gatekeeper.sh';
const AUDIT = 'audit.gatekeeper.sh';
const GATOR = 'gator.gatekeeper.sh';

// spec blocks of K8sRequiredLabels constraints as teams write them.
const match = { kinds: [{ apiGroups: [''], kinds: ['Namespace'] }] };
const parameters = { labels: [{ key: 'owner' }] };

const scopedWarnAtWebhookDenyInAudit = {
  match,
  parameters,
  enforcementAction: 'scoped',
  scopedEnforcementActions: [
    { action: 'warn', enforcementPoints: [{ name: WEBHOOK }] },
    { action: 'deny', enforcementPoints: [{ name: AUDIT }] },
  ],
};

describe('effectiveActions', () => {
  it.each<{ name: string; spec: unknown; point: EnforcementPoint; actions: string[] }>([
    { name: 'no enforcementAction denies at the webhook', spec: { match, parameters }, point: WEBHOOK, actions: ['deny'] },
    { name: 'no enforcementAction denies in audit', spec: { match, parameters }, point: AUDIT, actions: ['deny'] },
    { name: 'no spec at all denies', spec: undefined, point: GATOR, actions: ['deny'] },
    { name: 'warn warns everywhere', spec: { match, enforcementAction: 'warn' }, point: WEBHOOK, actions: ['warn'] },
    { name: 'dryrun is reported only', spec: { match, enforcementAction: 'dryrun' }, point: AUDIT, actions: ['dryrun'] },
    { name: 'scoped: the webhook gets the webhook’s action', spec: scopedWarnAtWebhookDenyInAudit, point: WEBHOOK, actions: ['warn'] },
    { name: 'scoped: audit gets audit’s action', spec: scopedWarnAtWebhookDenyInAudit, point: AUDIT, actions: ['deny'] },
    { name: 'scoped: a point that is not listed does not run the constraint', spec: scopedWarnAtWebhookDenyInAudit, point: GATOR, actions: [] },
    {
      name: 'scoped: * applies to every point',
      spec: { enforcementAction: 'scoped', scopedEnforcementActions: [{ action: 'warn', enforcementPoints: [{ name: '*' }] }] },
      point: GATOR,
      actions: ['warn'],
    },
    {
      name: 'scoped: the actions of several entries add up, most severe first',
      spec: {
        enforcementAction: 'scoped',
        scopedEnforcementActions: [
          { action: 'warn', enforcementPoints: [{ name: WEBHOOK }, { name: AUDIT }] },
          { action: 'deny', enforcementPoints: [{ name: '*' }] },
        ],
      },
      point: WEBHOOK,
      actions: ['deny', 'warn'],
    },
    {
      name: 'scoped: a repeated action counts once',
      spec: {
        enforcementAction: 'scoped',
        scopedEnforcementActions: [
          { action: 'dryrun', enforcementPoints: [{ name: AUDIT }] },
          { action: 'dryrun', enforcementPoints: [{ name: '*' }] },
        ],
      },
      point: AUDIT,
      actions: ['dryrun'],
    },
    {
      name: 'scoped: vap.k8s.io alone leaves the webhook without the constraint',
      spec: { enforcementAction: 'scoped', scopedEnforcementActions: [{ action: 'deny', enforcementPoints: [{ name: 'vap.k8s.io' }] }] },
      point: WEBHOOK,
      actions: [],
    },
    {
      name: 'an unknown action: the cluster refuses the constraint',
      spec: { match, enforcementAction: 'block' },
      point: WEBHOOK,
      actions: [],
    },
    {
      name: 'an unknown action: gator runs it and labels its results with the raw action',
      spec: { match, enforcementAction: 'block' },
      point: GATOR,
      actions: ['unrecognized'],
    },
    {
      name: 'action names are case-sensitive',
      spec: { match, enforcementAction: 'Deny' },
      point: AUDIT,
      actions: [],
    },
    {
      name: 'an explicit empty action: the webhook skips its results',
      spec: { match, enforcementAction: '' },
      point: WEBHOOK,
      actions: ['unrecognized'],
    },
    {
      name: 'an explicit empty action: gator treats it as deny',
      spec: { match, enforcementAction: '' },
      point: GATOR,
      actions: ['deny'],
    },
    {
      name: 'scoped without scopedEnforcementActions cannot be loaded anywhere',
      spec: { match, enforcementAction: 'scoped' },
      point: GATOR,
      actions: [],
    },
    {
      name: 'scoped with a misspelled point: the cluster refuses it',
      spec: { enforcementAction: 'scoped', scopedEnforcementActions: [{ action: 'deny', enforcementPoints: [{ name: 'webhook' }, { name: AUDIT }] }] },
      point: AUDIT,
      actions: [],
    },
    {
      name: 'scoped with an unknown action: gator still reports its results',
      spec: { enforcementAction: 'scoped', scopedEnforcementActions: [{ action: 'Warn', enforcementPoints: [{ name: GATOR }] }] },
      point: GATOR,
      actions: ['unrecognized'],
    },
  ])('$name', ({ spec, point, actions }) => {
    expect(effectiveActions(spec, point).actions).toEqual(actions);
  });
});

describe('effectiveAction (the one action that decides)', () => {
  it.each<{ name: string; spec: unknown; point: EnforcementPoint; action: string | null }>([
    { name: 'the default', spec: { match }, point: WEBHOOK, action: 'deny' },
    { name: 'a scoped warn at the webhook', spec: scopedWarnAtWebhookDenyInAudit, point: WEBHOOK, action: 'warn' },
    {
      name: 'deny wins over warn',
      spec: { enforcementAction: 'scoped', scopedEnforcementActions: [{ action: 'warn', enforcementPoints: [{ name: '*' }] }, { action: 'deny', enforcementPoints: [{ name: WEBHOOK }] }] },
      point: WEBHOOK,
      action: 'deny',
    },
    { name: 'not run at this point', spec: scopedWarnAtWebhookDenyInAudit, point: GATOR, action: null },
    { name: 'only unrecognised actions', spec: { enforcementAction: '' }, point: WEBHOOK, action: null },
  ])('$name', ({ spec, point, action }) => {
    expect(effectiveAction(spec, point)).toBe(action);
  });
});

describe('enforcementProblems (GK ValidateEnforcementAction)', () => {
  it.each<{ name: string; spec: unknown; problems: string[] }>([
    { name: 'none for the default', spec: { match }, problems: [] },
    { name: 'none for deny, warn, dryrun', spec: { enforcementAction: 'dryrun' }, problems: [] },
    { name: 'none for an explicit empty action', spec: { enforcementAction: '' }, problems: [] },
    { name: 'none for a well-formed scoped constraint', spec: scopedWarnAtWebhookDenyInAudit, problems: [] },
    {
      name: 'an unknown action',
      spec: { enforcementAction: 'block' },
      problems: ['unrecognized enforcementAction: "block" is not within the supported list [deny dryrun warn scoped]'],
    },
    {
      name: 'scoped without its list',
      spec: { enforcementAction: 'scoped' },
      problems: ['error fetching scopedEnforcementActions: scopedEnforcementActions is required'],
    },
    {
      name: 'unknown points, an entry without points, and unknown actions',
      spec: {
        enforcementAction: 'scoped',
        scopedEnforcementActions: [
          { action: 'deny', enforcementPoints: [{ name: 'webhook' }] },
          { action: 'Warn', enforcementPoints: [] },
        ],
      },
      problems: [
        'unrecognized enforcement points: constraint will not be enforced for enforcement points [webhook ], ' +
          'supported enforcement points are [validation.gatekeeper.sh audit.gatekeeper.sh gator.gatekeeper.sh vap.k8s.io]',
        'unrecognized enforcementAction: [Warn] is not within the supported list [deny dryrun warn]',
      ],
    },
  ])('$name', ({ spec, problems }) => {
    expect(enforcementProblems(spec)).toEqual(problems);
    expect(effectiveActions(spec, WEBHOOK).problems).toEqual(problems);
  });
});
