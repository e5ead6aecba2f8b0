"""Bodies and queries of phone verification and customer login.

Phones and codes are typed loosely here: their checks carry the API's own answers (a bad code
is 432 in `book_record`), so the rules in `service` judge them.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, WithJsonSchema

from openbooking.kit.envelope import Answer
from openbooking.kit.wire import Clean, Id, PersonName, QuerySchema, Schema

Phone = Annotated[
    Any,
    WithJsonSchema(
        {"type": "string", "maxLength": 32, "examples": ["+4915112345678", "79161234567"]}
    ),
]
Code = Annotated[
    Any,
    WithJsonSchema(
        {"type": "string", "pattern": "^[0-9]{6}$", "description": "The 6-digit code from the SMS"}
    ),
]


class BookCodeBody(Schema):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"phone": "+4915112345678", "fullname": "Ada Lovelace"}]}
    )

    phone: Phone = Field(None, description="The phone to confirm")
    fullname: PersonName = Field(
        None, description="The customer's name, kept for their new account"
    )
    fulname: PersonName = Field(None, description="The same, as one vendor client spells it")

    @property
    def name(self) -> str | None:
        return self.fullname or self.fulname


class UserAuthBody(Schema):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"phone": "+4915112345678", "code": "123456"}]}
    )

    phone: Phone = None
    login: Phone = Field(None, description="Accepted in place of `phone`")
    code: Code = None
    password: Code = Field(None, description="Accepted in place of `code`")


class BookingAuthBody(Schema):
    login: Annotated[str | None, Clean(254)] = Field(None, description="Phone or e-mail")
    password: str = ""


class UserUpdateBody(Schema):
    name: PersonName = None
    email: Annotated[str | None, Clean(254)] = None
    phone: Phone = Field(None, description="A new phone, with `confirmation_code`")
    confirmation_code: Code = Field(
        None, description="The code `GET /booking/user/phone_confirmation` sent to the new phone"
    )


class PasswordBody(Schema):
    new_password: str | None = None
    old_password: str | None = Field(None, description="Left out when setting a first password")


class PhoneConfirmationQuery(QuerySchema):
    phone: str = Field(max_length=32)
    company_id: Id | None = Field(None, description="The location that sends the SMS")
    group_id: Id | None = Field(None, description="Or the chain whose first location sends it")


# Answers ---------------------------------------------------------------------------------------


class UserToken(Answer):
    user_token: str = Field(description="Send it as `Authorization: Bearer <partner>, User <it>`")


PHONE_VIEW = "E.164 with `+` (Altegio), digits only (YCLIENTS)"


class Profile(Answer):
    """The customer, as `POST /booking/auth` answers it."""

    id: int
    user_token: str
    name: str
    phone: str = Field(description=PHONE_VIEW, examples=["+4915112345678", "4915112345678"])
    login: str = Field(description="The phone, as `phone`")
    email: str = Field(description='`""` when unset')
    avatar: str


class ProfileData(Profile):
    """`GET /booking/user/data`: the profile, and the token once more under the key `"0"`."""

    token: str = Field(alias="0", description="The same as `user_token`")


class PhoneValidity(Answer):
    is_valid: bool
    phone: str | None = Field(
        description="The number normalised (`+4915112345678`; YCLIENTS: digits only), "
        "null when not valid"
    )
