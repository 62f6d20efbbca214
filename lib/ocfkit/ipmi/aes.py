"""AES-CBC-128 without padding (RMCP+ pads itself), from OpenSSL's libcrypto.

Why ctypes rather than the ``cryptography`` package: creating a first Cipher there
loads its whole OpenSSL backend (x509 and all), ~70 ms, the budget of two status
calls. libcrypto is already mapped into this process by ``hashlib``; binding the
handful of EVP calls costs ~4 ms. ``cryptography`` remains the fallback where
libcrypto cannot be found.
"""

import ctypes

_LIBRARIES = ("libcrypto.so.3", "libcrypto.so.1.1", "libcrypto.so")
_lib = None


class AesUnavailable(Exception):
    pass


def _libcrypto():
    global _lib
    if _lib is not None:
        return _lib
    for name in _LIBRARIES:
        try:
            lib = ctypes.CDLL(name)
            break
        except OSError:
            continue
    else:
        return None
    pointer, buffer, length = ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)
    lib.EVP_CIPHER_CTX_new.restype = pointer
    lib.EVP_CIPHER_CTX_new.argtypes = []
    lib.EVP_CIPHER_CTX_free.restype = None
    lib.EVP_CIPHER_CTX_free.argtypes = [pointer]
    lib.EVP_aes_128_cbc.restype = pointer
    lib.EVP_aes_128_cbc.argtypes = []
    lib.EVP_CIPHER_CTX_set_padding.restype = ctypes.c_int
    lib.EVP_CIPHER_CTX_set_padding.argtypes = [pointer, ctypes.c_int]
    for direction in ("Encrypt", "Decrypt"):
        init = getattr(lib, f"EVP_{direction}Init_ex")
        init.restype = ctypes.c_int
        init.argtypes = [pointer, pointer, pointer, buffer, buffer]
        update = getattr(lib, f"EVP_{direction}Update")
        update.restype = ctypes.c_int
        update.argtypes = [pointer, ctypes.c_char_p, length, buffer, ctypes.c_int]
        final = getattr(lib, f"EVP_{direction}Final_ex")
        final.restype = ctypes.c_int
        final.argtypes = [pointer, ctypes.c_char_p, length]
    _lib = lib
    return lib


def _evp(direction, key, iv, data):
    lib = _libcrypto()
    if lib is None:
        return _fallback(direction, key, iv, data)
    if len(key) != 16 or len(iv) != 16 or len(data) % 16:
        raise ValueError("AES-CBC-128 needs a 16-byte key and IV and whole blocks")
    ctx = lib.EVP_CIPHER_CTX_new()
    if not ctx:
        raise MemoryError("EVP_CIPHER_CTX_new failed")
    try:
        init = getattr(lib, f"EVP_{direction}Init_ex")
        update = getattr(lib, f"EVP_{direction}Update")
        final = getattr(lib, f"EVP_{direction}Final_ex")
        out = ctypes.create_string_buffer(len(data) + 32)
        size, tail = ctypes.c_int(0), ctypes.c_int(0)
        ok = (init(ctx, lib.EVP_aes_128_cbc(), None, key, iv) == 1
              and lib.EVP_CIPHER_CTX_set_padding(ctx, 0) == 1
              and update(ctx, out, ctypes.byref(size), data, len(data)) == 1
              and final(ctx, ctypes.cast(ctypes.addressof(out) + size.value, ctypes.c_char_p),
                        ctypes.byref(tail)) == 1)
        if not ok:
            raise ValueError(f"AES {direction.lower()} failed")
        return out.raw[:size.value + tail.value]
    finally:
        lib.EVP_CIPHER_CTX_free(ctx)


def _fallback(direction, key, iv, data):
    try:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    except ImportError:
        raise AesUnavailable("AES needs OpenSSL's libcrypto or the Python 'cryptography' "
                             "package") from None
    cipher = Cipher(algorithms.AES(key), modes.CBC(iv))
    worker = cipher.encryptor() if direction == "Encrypt" else cipher.decryptor()
    return worker.update(data) + worker.finalize()


def encrypt(key, iv, data):
    return _evp("Encrypt", key, iv, data)


def decrypt(key, iv, data):
    return _evp("Decrypt", key, iv, data)
