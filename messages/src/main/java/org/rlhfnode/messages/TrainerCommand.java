package org.rlhfnode.messages;

/**
 * What a training role (policy trainer, critic) accepts over the wire. Sealed, so the protocol is
 * closed and every role handles all of it ({@code ProtocolCoverageTest} checks each handler exists);
 * a role's own messages (finished work from its thread) implement {@link Local} and never cross the wire.
 */
public sealed interface TrainerCommand extends WireMessage permits ScoreRequest, ExperienceBatch, TrainStep,
    SyncWeights, CheckpointRequest, RestoreState, StatusQuery, TrainerCommand.Local {

  /** A training role's private message; local to its JVM. */
  non-sealed interface Local extends TrainerCommand {}
}
