package org.rlhfnode.messages;

import java.nio.BufferOverflowException;

/**
 * A message does not fit the Artery frame it must travel in. It is a {@link BufferOverflowException} so
 * that Artery, when it meets it while serializing, treats it as the oversized-payload case it already
 * knows (drop, log, publish {@code Dropped}); unlike the plain JDK exception it says which message type
 * and which sizes, on one line.
 */
public final class FrameTooLargeException extends BufferOverflowException {
  private static final long serialVersionUID = 1L;

  private final String message;

  /** An exception for {@code messageType}, {@code size} bytes against {@code limit} bytes of {@code what}. */
  public FrameTooLargeException(String messageType, long size, long limit, String what) {
    this.message = messageType + " is " + size + " bytes serialized, over the " + limit + "-byte limit of "
        + what + " by " + (size - limit) + " bytes";
  }

  @Override
  public String getMessage() {
    return message;
  }
}
