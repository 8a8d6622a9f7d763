#pragma once

// A non-owning reference to a callable, for callbacks that are only used during
// the call they are passed to (netlink replies, event drains). Unlike
// std::function it never allocates, so it is safe on hot paths. The referenced
// callable must outlive every call through the FunctionRef; binding a lambda
// at the call site (`Drain([&](const Msg& m) { ... })`) is the intended use.

#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

namespace hafw {

template <typename Signature>
class FunctionRef;

template <typename R, typename... Args>
class FunctionRef<R(Args...)> {
 public:
  // An empty reference: operator bool is false and it must not be called.
  FunctionRef() = default;
  FunctionRef(std::nullptr_t) {}  // NOLINT(google-explicit-constructor): like std::function

  // Callables convert implicitly, like std::function; copies and moves of a
  // FunctionRef itself stay with the implicit constructors.
  template <typename F,
            typename = std::enable_if_t<!std::is_same_v<std::remove_cvref_t<F>, FunctionRef> &&
                                        std::is_invocable_r_v<R, F&, Args...>>>
  FunctionRef(F&& f)  // NOLINT(google-explicit-constructor)
      : object_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* object, Args... args) -> R {
          return std::invoke(*static_cast<std::remove_reference_t<F>*>(object),
                             std::forward<Args>(args)...);
        }) {}

  R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }
  explicit operator bool() const { return call_ != nullptr; }

 private:
  void* object_ = nullptr;
  R (*call_)(void*, Args...) = nullptr;
};

}  // namespace hafw
