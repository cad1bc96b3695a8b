// What the mini-program relies on, written against the generated types: a field removed or renamed,
// an outcome dropped or a body changed in the API's contract makes `npm run check` (and CI) fail.
import type { operations } from "./linli-api";

type Json<T> = T extends { content: { "application/json": infer B } } ? B : never;

type Login = Json<operations["mpLogin"]["responses"][200]>;
type LoginBody = Json<operations["mpLogin"]["requestBody"]>;
type Nearby = Json<operations["nearby"]["responses"][200]>;
type Grab = Json<operations["grab"]["responses"][200]>;
type Vouchers = Json<operations["myVouchers"]["responses"][200]>;
type Home = Json<operations["home"]["responses"][200]>;

export const loginBody: LoginBody = { code: "wx-login-code" };

export function bearer(login: Login): string {
  return `Bearer ${login.access_token}`;
}

export function storeLines(page: Nearby): string[] {
  return page.items.map((store) => `${store.name} · ${store.distance_m} m`);
}

export function grabMessage(answer: Grab): string {
  switch (answer.outcome) {
    case "won":
      return `抢到了！券号 ${answer.ticket_id ?? ""}`;
    case "sold_out":
      return "已抢光";
    case "limit_reached":
      return "已达到每人限额";
    case "not_eligible":
      return "您不在本次活动范围内";
    case "not_started":
      return "活动尚未开始";
    case "paused":
      return "活动暂停中";
    case "ended":
      return "活动已结束";
  }
}

export function voucherCount(page: Vouchers): number {
  return page.items.length;
}

export function hasNext(page: Vouchers): boolean {
  return page.next_cursor !== null && page.next_cursor !== undefined;
}

export const homeKeys = (home: Home): string[] => Object.keys(home);
