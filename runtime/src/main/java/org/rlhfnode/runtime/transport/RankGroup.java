package org.rlhfnode.runtime.transport;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.rlhfnode.runtime.dist.Collectives;

/**
 * N ranks in this JVM, one thread each, joined in a Gloo group through a {@code TCPStore} on
 * 127.0.0.1: how a role uses the N devices of one node's group (one thread per device), and how
 * every multi-rank path is tested on CPU. With one rank the body runs on the calling thread over
 * {@link Collectives#single()}. {@link #runSpan} runs this process's share of a group whose other ranks
 * are in other processes (a trainer over several nodes); its store then listens on an address they reach.
 */
public final class RankGroup {
  private RankGroup() {}

  /** What each rank runs; it may use the collectives only on its own thread. */
  @FunctionalInterface
  public interface Body<T> {
    T run(Collectives collectives) throws Exception;
  }

  /** A rank's failure, carrying the rank's own exception as the cause. */
  public static final class RankFailedException extends RuntimeException {
    RankFailedException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * Where this process's ranks sit in a group that may span several processes (nodes): the store at
   * {@code storeHost:storePort} through which all {@code worldSize} ranks meet, the secret each rank proves
   * there, and the first global rank of this process. The process holding rank 0 hosts the store
   * ({@code host}, null elsewhere).
   */
  public record Span(GlooGroup.Host host, String storeHost, int storePort, RendezvousSecret secret, int worldSize,
      int firstRank) {
    public Span {
      java.util.Objects.requireNonNull(secret, "secret");
      if (worldSize < 1 || firstRank < 0 || firstRank >= worldSize) {
        throw new IllegalArgumentException("first rank " + firstRank + " outside a group of " + worldSize);
      }
      if ((firstRank == 0) != (host != null)) {
        throw new IllegalArgumentException("the process with rank 0, and only it, hosts the group's store");
      }
    }

    /** The process with ranks 0.. of a group of {@code worldSize}, hosting its store. */
    public static Span lead(GlooGroup.Host host, int worldSize) {
      return new Span(host, host.host(), host.port(), host.secret(), worldSize, 0);
    }

    /**
     * A process with ranks {@code firstRank}.. of the group whose store is at {@code storeHost:storePort}
     * with rendezvous secret {@code secret}.
     */
    public static Span follower(String storeHost, int storePort, RendezvousSecret secret, int worldSize,
        int firstRank) {
      return new Span(null, storeHost, storePort, secret, worldSize, firstRank);
    }
  }

  /**
   * Runs {@code body} on {@code localRanks} threads of this process, as global ranks
   * {@code span.firstRank()}.. of the group {@code span} describes (the other ranks run in other
   * processes); results in local rank order. The lead process's store stays open until its ranks end.
   */
  public static <T> List<T> runSpan(Span span, int localRanks, Duration timeout, String name, Body<T> body) {
    if (localRanks < 1 || span.firstRank() + localRanks > span.worldSize()) {
      throw new IllegalArgumentException(name + ": " + localRanks + " local ranks from rank " + span.firstRank()
          + " do not fit a group of " + span.worldSize());
    }
    return runThreads(span, localRanks, null, timeout, name, body);
  }

  /**
   * Runs {@code body} on {@code ranks} threads and returns their results in rank order.
   *
   * @param timeout bound on forming the group and on every collective
   * @throws RankFailedException the first rank's failure that is not merely another rank having gone
   *     (a failed collective), with that rank's message
   */
  public static <T> List<T> run(int ranks, Duration timeout, String name, Body<T> body) {
    return run(ranks, null, timeout, name, body);
  }

  /**
   * Runs {@code body} on one thread per CUDA device of {@code devices} over an NCCL group (rank r on
   * {@code cuda:devices[r]}); results in rank order.
   */
  public static <T> List<T> runNccl(List<Integer> devices, Duration timeout, String name, Body<T> body) {
    return run(devices.size(), devices, timeout, name, body);
  }

  private static <T> List<T> run(int ranks, List<Integer> cudaDevices, Duration timeout, String name, Body<T> body) {
    if (ranks < 1) {
      throw new IllegalArgumentException("--ranks must be >= 1, got " + ranks);
    }
    if (ranks == 1 && cudaDevices == null) {
      try {
        return List.of(body.run(Collectives.single()));
      } catch (RuntimeException e) {
        throw e;
      } catch (Exception e) {
        throw new RankFailedException(e.getMessage(), e);
      }
    }
    // runThreads closes the store once the ranks have ended
    return runThreads(Span.lead(GlooGroup.Host.listen("127.0.0.1", 0, timeout), ranks), ranks, cudaDevices, timeout,
        name, body);
  }

  /**
   * Local rank i runs as global rank {@code span.firstRank() + i}; the span's store, when this process
   * hosts it, is closed once the ranks have ended.
   */
  private static <T> List<T> runThreads(Span span, int ranks, List<Integer> cudaDevices, Duration timeout, String name,
      Body<T> body) {
    AtomicReferenceArray<Object> results = new AtomicReferenceArray<>(ranks);
    AtomicReferenceArray<Throwable> failures = new AtomicReferenceArray<>(ranks);
    List<Thread> threads = new ArrayList<>();
    GlooGroup.Host host = span.host();
    int world = span.worldSize();
    try {
      for (int r = 0; r < ranks; r++) {
        int local = r;
        int rank = span.firstRank() + r;
        Thread t = new Thread(() -> {
          try {
            if (cudaDevices == null) {
              try (GlooGroup group = rank == 0 ? host.form(world)
                  : GlooGroup.join(span.storeHost(), span.storePort(), span.secret(), world, rank, timeout)) {
                results.set(local, body.run(group.collectives()));
              }
            } else {
              org.bytedeco.pytorch.Store store = rank == 0 ? host.newClient()
                  : GlooGroup.storeClient(span.storeHost(), span.storePort(), span.secret(), timeout);
              try (NcclGroup group = NcclGroup.connect(store, span.secret(), rank, world, cudaDevices.get(local),
                  timeout)) {
                results.set(local, body.run(group.collectives()));
              }
            }
          } catch (Throwable e) {
            failures.set(local, e);
            if (host != null) {
              host.close(); // ranks still joining through the store fail at once instead of at the timeout
            }
          }
        }, name + "-rank-" + rank);
        threads.add(t);
        t.start();
      }
      for (Thread t : threads) {
        t.join();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      threads.forEach(Thread::interrupt);
      throw new RankFailedException(name + ": interrupted while waiting for the ranks", e);
    } finally {
      if (host != null) {
        host.close();
      }
    }
    rethrowFirst(failures, span.firstRank(), name);
    List<T> out = new ArrayList<>();
    for (int r = 0; r < ranks; r++) {
      @SuppressWarnings("unchecked")
      T value = (T) results.get(r);
      out.add(value);
    }
    return out;
  }

  /** Prefers a rank's own error over the collective failures it caused on the others. */
  private static void rethrowFirst(AtomicReferenceArray<Throwable> failures, int firstRank, String name) {
    Throwable first = null;
    int failedRank = -1;
    for (int r = 0; r < failures.length(); r++) {
      Throwable e = failures.get(r);
      if (e != null && (first == null || (isSecondary(first) && !isSecondary(e)))) {
        first = e;
        failedRank = firstRank + r;
      }
    }
    if (first instanceof RuntimeException re && failedRank == 0) {
      throw re; // rank 0's own error reads as the single-rank run's would
    }
    if (first != null) {
      throw new RankFailedException(name + " rank " + failedRank + ": " + first.getMessage(), first);
    }
  }

  private static boolean isSecondary(Throwable e) {
    return e instanceof Collectives.CollectiveException || e instanceof GlooGroup.GlooException;
  }
}
