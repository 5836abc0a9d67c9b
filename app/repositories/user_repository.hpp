#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "domain/error.hpp"
#include "domain/user.hpp"
#include "infrastructure/crypto.hpp"
#include "repositories/document_repository.hpp"

namespace nexu::repositories {

// Accounts in the system collection `_users` (UUIDv7 ids). Usernames and
// e-mail addresses are unique through claim documents in `_usernames` and
// `_emails`, named by a keyed hash of the name (so the data directory lists
// no usernames) and taken by exclusive create: two instances registering the
// same name at once cannot both win. A user document is written before its
// claims, so a claim always points at a user that existed; a claim left
// pointing at a deleted user (a crash between the two writes) is taken over
// by compare-and-set.
// Thread-safe; calls block on the store, so run them on worker threads.
class UserRepository {
public:
    struct Page {
        std::vector<domain::User> items;
        std::string next_cursor;  // empty at the end
    };

    UserRepository(DocumentRepository& documents, const infrastructure::Crypto& crypto)
        : documents_(documents), crypto_(crypto) {}

    // Stores a new user (its id set by the caller). Errc::conflict with
    // context "username" or "email" when taken.
    Result<domain::User> create(domain::User user);
    Result<domain::User> find(std::string_view id) const;
    Result<domain::User> find_by_username(std::string_view username) const;
    Result<domain::User> find_by_email(std::string_view email) const;
    // Writes `user` if it is still at `user.rev` (Errc::conflict otherwise);
    // moves the e-mail claim when the address changed.
    Result<domain::User> update(domain::User user);
    Result<void> remove(std::string_view id);
    Result<Page> list(std::string_view cursor, std::size_t limit) const;
    // Whether any user holds `role` (deleting a role held is a 409).
    Result<bool> any_holds_role(std::string_view role) const;

private:
    enum class Claim { username, email };
    std::string claim_id(Claim kind, std::string_view value) const;
    // Points the claim at `user_id`; Errc::conflict when another live user holds it.
    Result<void> take_claim(Claim kind, std::string_view value, std::string_view user_id);
    // Removes the claim if it still points at `user_id`.
    void release_claim(Claim kind, std::string_view value, std::string_view user_id);
    Result<domain::User> find_by_claim(Claim kind, std::string_view value) const;

    DocumentRepository& documents_;
    const infrastructure::Crypto& crypto_;
};

}  // namespace nexu::repositories
