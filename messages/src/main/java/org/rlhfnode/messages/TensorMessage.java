package org.rlhfnode.messages;

/**
 * Marker for messages whose payload is tensors or raw weight bytes. It is bound to
 * {@link TensorSerializer} (raw little-endian bytes with dtype and shape, no CBOR or base64 detour).
 * It extends {@link WireMessage} so that such messages can belong to the same role protocols; Pekko
 * picks the most specific binding, so the tensor serializer is used for these types.
 */
public interface TensorMessage extends WireMessage {}
