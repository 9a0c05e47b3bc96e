package org.rlhfnode.runtime.transport;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import org.rlhfnode.runtime.dist.Collectives;

/**
 * N long-lived rank threads of one role, joined in a group once (Gloo over 127.0.0.1 on CPU, NCCL
 * with one rank per CUDA device), that run the same task together whenever asked: how a trainer role
 * spreads over its device group while its actor sees one logical role. {@link #run} hands the task
 * to every rank and waits for all of them; a rank's state lives in what the tasks build on its thread
 * (libtorch's grad mode is per thread). Calls are serialised: a task starts on every rank in the same order.
 */
public final class RankGang implements AutoCloseable {
  /** A task every rank runs on its own thread with its collectives. */
  @FunctionalInterface
  public interface Task<T> {
    T run(Collectives collectives) throws Exception;
  }

  private record Job(Task<?> task, CompletableFuture<Object> done) {}

  private static final Job STOP = new Job(c -> null, new CompletableFuture<>());

  private final List<BlockingQueue<Job>> queues = new ArrayList<>();
  private final CompletableFuture<List<Object>> finished;
  private final int ranks;
  private final int firstRank;
  private final String name;
  private volatile boolean broken;

  private RankGang(int ranks, RankGroup.Span span, List<Integer> cudaDevices, Duration timeout, String name) {
    this.ranks = ranks;
    this.firstRank = span == null ? 0 : span.firstRank();
    this.name = name;
    for (int r = 0; r < ranks; r++) {
      queues.add(new LinkedBlockingQueue<>());
    }
    RankGroup.Body<Object> body = c -> {
      BlockingQueue<Job> queue = queues.get(c.rank() - firstRank);
      for (Job job = queue.take(); job != STOP; job = queue.take()) {
        try {
          job.done.complete(job.task.run(c));
        } catch (Throwable e) {
          boolean group = c.worldSize() > 1;
          broken |= group; // before the caller can see the failure
          job.done.completeExceptionally(e);
          if (group) {
            // the ranks' collective calls no longer match: end this rank, so that its group closes and the
            // others fail at once instead of waiting for the timeout; the gang takes no more work
            throw e instanceof Exception ex ? ex : new IllegalStateException(e);
          }
        }
      }
      return null;
    };
    this.finished = CompletableFuture.supplyAsync(() -> span != null ? RankGroup.runSpan(span, ranks, timeout, name, body)
        : cudaDevices == null ? RankGroup.run(ranks, timeout, name, body)
        : RankGroup.runNccl(cudaDevices, timeout, name, body),
        runnable -> new Thread(runnable, name + "-gang").start());
  }

  /** {@code ranks} CPU ranks (threads over Gloo; one rank: a single thread, no group). */
  public static RankGang cpu(int ranks, Duration timeout, String name) {
    if (ranks < 1) {
      throw new IllegalArgumentException("a rank gang needs at least 1 rank, got " + ranks);
    }
    return new RankGang(ranks, null, null, timeout, name);
  }

  /**
   * This process's {@code ranks} CPU ranks of a group spanning several processes ({@link RankGroup.Span}):
   * global ranks {@code span.firstRank()}..; tasks must be started in the same order in every process.
   */
  public static RankGang spanning(RankGroup.Span span, int ranks, Duration timeout, String name) {
    return new RankGang(ranks, span, null, timeout, name);
  }

  /** One rank per CUDA device of {@code devices}, over NCCL. */
  public static RankGang cuda(List<Integer> devices, Duration timeout, String name) {
    return new RankGang(devices.size(), null, List.copyOf(devices), timeout, name);
  }

  /** The ranks of this process. */
  public int ranks() {
    return ranks;
  }

  /** The index among this process's ranks of the rank that owns {@code c} (its global rank minus the first). */
  public int local(Collectives c) {
    return c.rank() - firstRank;
  }

  /**
   * Runs {@code task} on every rank and returns the results in rank order. When a task fails on one of
   * several ranks the gang is broken: the ranks end, and every later call fails at once ({@link #broken()}).
   *
   * @throws RuntimeException the lowest rank's own failure, preferred over the failed collectives it
   *     caused on the other ranks
   */
  public synchronized <T> List<T> run(Task<T> task) {
    if (broken) {
      throw new IllegalStateException(name + ": a task failed on one of its " + ranks
          + " ranks earlier, so the rank group has ended; load the model again");
    }
    List<CompletableFuture<Object>> futures = new ArrayList<>();
    for (BlockingQueue<Job> q : queues) {
      CompletableFuture<Object> f = new CompletableFuture<>();
      futures.add(f);
      q.add(new Job(task, f));
    }
    CompletableFuture<Void> all = CompletableFuture.allOf(futures.toArray(new CompletableFuture[0]));
    // every rank answered, or the group ended (a rank that stopped never answers)
    CompletableFuture.anyOf(all.handle((v, e) -> null), finished.handle((v, e) -> null)).join();
    RuntimeException failure = null;
    List<T> out = new ArrayList<>();
    for (int r = 0; r < futures.size(); r++) {
      CompletableFuture<Object> f = futures.get(r);
      if (f.isDone() && !f.isCompletedExceptionally()) {
        @SuppressWarnings("unchecked")
        T value = (T) f.join();
        out.add(value);
        continue;
      }
      RuntimeException cause = f.isDone() ? unwrap(f.handle((v, e) -> e).join())
          : new RankStopped(name + ": rank " + (firstRank + r) + " stopped before answering");
      if (failure == null || (isSecondary(failure) && !isSecondary(cause))) {
        failure = cause;
      }
    }
    if (failure != null) {
      throw failure;
    }
    return out;
  }

  /** Whether a task failed on one of several ranks, ending the gang. */
  public boolean broken() {
    return broken;
  }

  /** A rank that ended (its group failed) before answering a task: a consequence, not a cause. */
  private static final class RankStopped extends IllegalStateException {
    RankStopped(String message) {
      super(message);
    }
  }

  private static boolean isSecondary(RuntimeException e) {
    return e instanceof Collectives.CollectiveException || e instanceof RankStopped;
  }

  /**
   * Builds one resource per rank, each on its rank's thread; when a rank fails, what the other ranks
   * built is closed (from the caller's thread) before the failure is thrown.
   */
  public <T extends AutoCloseable> List<T> openEach(Task<T> build) {
    Object[] made = new Object[ranks];
    try {
      run(c -> made[local(c)] = build.run(c));
    } catch (RuntimeException e) {
      for (Object m : made) {
        if (m != null) {
          closeQuietly((AutoCloseable) m, e);
        }
      }
      throw e;
    }
    List<T> out = new ArrayList<>();
    for (Object m : made) {
      @SuppressWarnings("unchecked")
      T item = (T) m;
      out.add(item);
    }
    return List.copyOf(out);
  }

  /**
   * Closes local rank r's {@code items.get(r)} on rank r's thread, or, when the gang is broken (its threads
   * have ended), every item from the caller's thread.
   */
  public void closeEach(List<? extends AutoCloseable> items) {
    if (broken) {
      RuntimeException first = null;
      for (AutoCloseable item : items) {
        first = closeQuietly(item, first);
      }
      if (first != null) {
        throw first;
      }
      return;
    }
    run(c -> {
      items.get(local(c)).close();
      return null;
    });
  }

  /** Closes {@code item}; a failure is added to {@code pending} (or becomes it) rather than thrown. */
  private static RuntimeException closeQuietly(AutoCloseable item, RuntimeException pending) {
    try {
      item.close();
      return pending;
    } catch (Exception e) {
      if (pending == null) {
        return e instanceof RuntimeException re ? re : new IllegalStateException(e.getMessage(), e);
      }
      pending.addSuppressed(e);
      return pending;
    }
  }

  /** The first local rank's result of {@link #run} (global rank 0's in the process that leads). */
  public <T> T first(Task<T> task) {
    return run(task).get(0);
  }

  private static RuntimeException unwrap(Throwable e) {
    Throwable t = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
    return t instanceof RuntimeException re ? re : new IllegalStateException(t.getMessage(), t);
  }

  /** Ends the rank threads (after their current task) and the group. */
  @Override
  public void close() {
    queues.forEach(q -> q.add(STOP));
    try {
      finished.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException e) {
      // the group had failed already; its failure was reported by run()
    }
  }
}
