package org.rlhfnode.messages;

import org.apache.pekko.actor.typed.ActorRef;

/** Turns typed actor references into strings and back; backed by Pekko's {@code ActorRefResolver}. */
interface RefFormat {
  /** The serialized form of {@code ref}, including the remote address when sent over Artery. */
  String format(ActorRef<?> ref);

  /** The reference a serialized form names. */
  <T> ActorRef<T> resolve(String serialized);
}
