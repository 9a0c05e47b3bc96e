package org.rlhfnode.node.actor;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The one thread on which a role runs its forward passes, updates and loads, in arrival order; the
 * actor hands work to it and gets results back through {@code pipeToSelf}. Daemon, so a stuck native
 * call cannot keep the JVM alive after the actor system ends.
 */
public final class RoleExecutor {
  private RoleExecutor() {}

  /** A single-thread executor whose thread is called {@code name}. */
  public static ExecutorService create(String name) {
    return Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    });
  }
}
