package org.rlhfnode.messages;

/**
 * Marker for every message that may cross a JVM boundary between roles. It is bound to Pekko's
 * {@code jackson-cbor} serializer in this module's {@code reference.conf}, so a record implementing it
 * travels as CBOR (typed {@code ActorRef} fields included) and never through Java serialization.
 * Messages that carry tensors or raw weight bytes implement {@link TensorMessage} instead, which wins
 * as the more specific binding. Role protocols outside this module may extend this interface too.
 */
public interface WireMessage {}
