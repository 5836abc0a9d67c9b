#include "domain/password_policy.hpp"

#include <catch2/catch.hpp>

#include "domain/user.hpp"

using nexu::domain::PasswordPolicy;

TEST_CASE("the embedded breached list is john-data's", "[password]") {
    const auto list = nexu::domain::common_password_list();
    CHECK(list.find("\npassword1\n") != std::string_view::npos);
    CHECK(list.size() > 20'000);
}

TEST_CASE("passwords: length in code points, no truncation", "[password]") {
    const PasswordPolicy policy;
    CHECK(policy.problem("elevenchars"));
    CHECK_FALSE(policy.problem("twelve chars"));
    CHECK_FALSE(policy.problem(std::string(127, 'x') + "y"));
    CHECK(policy.problem(std::string(128, 'x') + "y"));
    // Twelve code points of four bytes each pass; eleven do not.
    std::string emoji;
    for (int i = 0; i < 11; ++i) emoji += "\xF0\x9F\x98\x80";
    CHECK(policy.problem(emoji));
    CHECK_FALSE(policy.problem(emoji + "\xC3\xA9"));
    CHECK(policy.problem("not utf8 \xff\xfe xx"));
}

TEST_CASE("passwords: breached ones and their usual stretchings are refused", "[password]") {
    const PasswordPolicy policy;
    for (const char* weak : {"password1234", "Password1234!", "!!iloveyou2024", "monkeymonkey",
                             "SunshineSunshine", "123456789012", "098765432109", "aaaaaaaaaaaa",
                             "abcdefghijkl", "qwertyuiop[]", "abcabcabcabc", "winniethepooh"}) {
        INFO(weak);
        CHECK(policy.problem(weak));
    }
    for (const char* fine : {"correct horse battery", "Tr0ub4dor&3 plus more", "mañana por la tarde",
                             "sunshine and rain in march"}) {
        INFO(fine);
        CHECK_FALSE(policy.problem(fine));
    }
    CHECK(policy.problem("alice-rocks-forever", "alice-rocks"));
    CHECK_FALSE(policy.problem("alice-rocks-forever", "bob"));
}

TEST_CASE("usernames, e-mail addresses and display names", "[user]") {
    using namespace nexu::domain;
    CHECK_FALSE(username_problem("al.ice_9-x"));
    CHECK(username_problem("ab"));
    CHECK(username_problem(std::string(33, 'a')));
    CHECK(username_problem("Alice"));
    CHECK(username_problem("al ice"));
    CHECK(username_problem("al\xc3\xa9"));
    CHECK_FALSE(email_problem("a@b.io"));
    CHECK(email_problem("a@@b.io"));
    CHECK(email_problem("@b.io"));
    CHECK(email_problem("a b@c.io"));
    CHECK(email_problem(std::string(250, 'a') + "@b.io"));
    CHECK(normalized_email("Ann@Example.COM") == "ann@example.com");
    CHECK_FALSE(display_name_problem("Zoë"));
    CHECK(display_name_problem("tab\there"));
    CHECK(display_name_problem(std::string(101, 'a')));
    CHECK(count_code_points("Zo\xc3\xab") == 3u);
    CHECK_FALSE(count_code_points("\xc0\xaf"));  // overlong '/'
}

TEST_CASE("a user's public view never carries the password hash", "[user]") {
    nexu::domain::User user;
    user.id = "01a20000-0000-7000-8000-000000000001";
    user.username = "ann";
    user.roles = {"user"};
    user.password_hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA";
    const auto view = nexu::domain::to_public_json(user).dump();
    CHECK(view.find("argon2") == std::string::npos);
    CHECK(view.find("password") == std::string::npos);
    const auto stored = nexu::domain::to_stored_json(user);
    const auto back = nexu::domain::user_from_stored(user.id, 3, stored).value();
    CHECK(back.password_hash == user.password_hash);
    CHECK(back.rev == 3u);
    CHECK(nexu::domain::user_from_stored("x", 1, nlohmann::json{{"username", 1}}).error().code ==
          nexu::Errc::corrupt_object);
}
