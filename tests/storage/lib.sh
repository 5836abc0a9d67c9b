# Shared by the storage test scripts (sourced, not run).

# Writes a fresh random master key to FILE in the key file format (64 hex
# characters and a newline, mode 0600).
write_test_key() {
    (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$1" && echo >> "$1")
    chmod 600 "$1"
}
