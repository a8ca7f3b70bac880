/**
 * The contracts between the Git sources and the rest of the controller.
 *
 * The Git part never imports the manifest parser or the planner: a push is checked by a
 * `ValidateCommit` callback and an accepted commit is handed over through `OnAccepted`.
 * The controller wires both to controller/manifests and controller/plan.
 */

/** Result of checking one commit before its ref may move. */
export interface CommitCheck {
  /** true: the ref may move to the commit. */
  ok: boolean;
  /** One line per problem, e.g. `instances/web.yaml:12:5 spec.flavor: no Flavor named "huge"`. */
  errors: string[];
  /** Lines shown to the pusher when the commit is accepted (what will change). */
  summary: string[];
}

/** Checks the tree of `commitOid` in the bare repository `repoDir`, pushed to `ref`. */
export type ValidateCommit = (repoDir: string, commitOid: string, ref: string) => Promise<CommitCheck>;

/** Called once the ref points at the accepted commit (and the repository is backed up). */
export type OnAccepted = (repoDir: string, commitOid: string, ref: string) => Promise<void>;

/** The object id Git uses for "no object" in ref updates (create / delete). */
export const ZERO_OID = '0000000000000000000000000000000000000000';
