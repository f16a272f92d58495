"""placeholder"""

from difftest.docs.schema import Example

EXAMPLES: list[Example] = [
    # difftest promote: new examples go above this line
]
