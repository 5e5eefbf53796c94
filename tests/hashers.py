"""A password hasher that counts the hashes it computes, for tests that compare two paths' work
(signing up with a new email and with one already taken must hash the same number of times)."""

from django.contrib.auth.hashers import MD5PasswordHasher


class CountingHasher(MD5PasswordHasher):
    algorithm = "counting_md5"
    computed = 0

    def encode(self, password, salt):
        type(self).computed += 1
        return super().encode(password, salt)
