"""What the tests share: the independent numerical oracle (`numeric`), the fuzz program
generator (`fuzz_programs`), and the corpora of functions the reliability, ordinary-code
and pickling tests run (`corpus`, `ordinary_programs`, `shipping_funcs`)."""
