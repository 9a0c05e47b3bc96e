package org.rlhfnode.messages;

/**
 * Marker for what a weight receiver (beside each rollout engine) accepts: {@link WeightUpdate},
 * {@link WeightChunk} and {@link CollectiveRendezvous}, so one typed {@code ActorRef<WeightSyncMessage>}
 * serves both transports. It has no serialization binding of its own: each message keeps the binding of
 * its more specific marker ({@link WireMessage} → CBOR, {@link TensorMessage} → {@link TensorSerializer}).
 * Not sealed: a receiver's internal messages (finished futures) may implement it; they never cross the wire.
 */
public interface WeightSyncMessage extends WireMessage {}
