package org.rlhfnode.messages;

/**
 * Role → supervisor: the state of one role instance: its role, a unique {@code instanceId}, what it is
 * doing, the weight version it holds, its device group ({@code "cpu"}, {@code "cuda:0,1"}), how many
 * requests it is working on, and the run it belongs to ({@code runId}, empty until a supervisor restored
 * or rolled it back; a supervisor that starts on a cluster whose roles already belong to a run takes that
 * run over instead of starting a new one).
 */
public record RoleStatus(Role role, String instanceId, State state, long policyVersion, String device,
    int inFlight, String detail, String runId) implements WireMessage {

  /** Lifecycle of a role instance. */
  public enum State {
    /** Loading models or joining; not ready for work. */
    STARTING,
    /** Ready and without work. */
    IDLE,
    /** Working on at least one request. */
    BUSY,
    /** Installing a new weight version; rejects rollouts until done. */
    SYNCING_WEIGHTS,
    /** Failed; {@code detail} says why. */
    FAILED
  }

  /** Checks the fields; {@code detail} may be empty. */
  public RoleStatus {
    Checks.notNull(role, "RoleStatus", "role");
    Checks.nonBlank(instanceId, "RoleStatus", "instanceId");
    Checks.notNull(state, "RoleStatus", "state");
    Checks.nonNegative(policyVersion, "RoleStatus", "policyVersion");
    Checks.nonBlank(device, "RoleStatus", "device");
    Checks.nonNegative(inFlight, "RoleStatus", "inFlight");
    Checks.notNull(detail, "RoleStatus", "detail");
    Checks.notNull(runId, "RoleStatus", "runId");
  }
}
