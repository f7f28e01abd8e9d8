from .backends import MemoryCache, RedisCache, SharedCache
from .extension import FieldCache
from .store import FieldCacheStore

__all__ = ["FieldCache", "FieldCacheStore", "MemoryCache", "RedisCache", "SharedCache"]
