package org.rlhfnode.runtime.transport;

import com.sun.jna.Library;
import com.sun.jna.Native;

/**
 * Gloo prints "[Gloo] Rank r is connected to n peer ranks…" on the process's standard output (file
 * descriptor 1) while a group forms, where commands such as {@code generate} print their JSON lines.
 * While any group is forming, descriptor 1 is pointed at descriptor 2 (standard error), and restored
 * when the last forming group is done; counted, so that groups forming at once on several threads
 * restore it exactly once. Where libc cannot be reached the output is left alone.
 */
final class QuietStdout {
  /** libc's dup/dup2/fflush, through JNA (on the classpath through DJL). */
  interface LibC extends Library {
    int dup(int fd);

    int dup2(int from, int to);

    int fflush(com.sun.jna.Pointer stream);

    int close(int fd);
  }

  private static final LibC LIBC = load();
  private static int forming;
  private static int saved = -1;

  private QuietStdout() {}

  private static LibC load() {
    try {
      return Native.load("c", LibC.class);
    } catch (UnsatisfiedLinkError e) {
      return null;
    }
  }

  /** Points descriptor 1 at descriptor 2 until the matching {@link #end()}. */
  static synchronized void begin() {
    if (LIBC == null) {
      return;
    }
    if (forming++ == 0) {
      System.out.flush();
      LIBC.fflush(null);
      saved = LIBC.dup(1);
      if (saved >= 0) {
        LIBC.dup2(2, 1);
      }
    }
  }

  /** Restores descriptor 1 once every group that began forming is done. */
  static synchronized void end() {
    if (LIBC == null) {
      return;
    }
    if (--forming == 0 && saved >= 0) {
      LIBC.fflush(null);
      LIBC.dup2(saved, 1);
      LIBC.close(saved);
      saved = -1;
    }
  }
}
