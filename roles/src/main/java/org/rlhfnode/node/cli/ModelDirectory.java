package org.rlhfnode.node.cli;

import java.nio.file.Path;
import org.rlhfnode.runtime.hub.HubModels;
import picocli.CommandLine.ITypeConverter;

/**
 * Converts a {@code --model} value to a model directory: a local path that exists, else
 * {@code org/name[@revision]} from the local HuggingFace hub cache ({@link HubModels}). A value found in
 * neither stays as given, so that loading it fails like any missing directory, with one error line
 * saying where it was looked for ({@code ModelLoader}) and the stack trace under {@code --verbose}.
 */
final class ModelDirectory implements ITypeConverter<Path> {
  @Override
  public Path convert(String value) {
    return HubModels.find(value).orElse(Path.of(value));
  }
}
